import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Image references in skopeo's transport syntax. */
export const skopeoRef = {
  /** An image in an OCI layout directory. */
  oci: (dir: string, tag: string): string => `oci:${dir}:${tag}`,
  /** An image in a registry; `registryUrl` as `http://127.0.0.1:PORT`. */
  registry: (registryUrl: string, name: string, reference: string): string =>
    `docker://${new URL(registryUrl).host}/${name}${reference.includes(':') ? '@' : ':'}${reference}`,
};

export interface SkopeoCopyOptions {
  /** Copy every image of an index (`--all`), not just the one for this machine's platform. */
  readonly all?: boolean;
  /**
   * Refuse any change to the blobs or manifests (`--preserve-digests`). Without it skopeo gzips
   * uncompressed layers on their way to a registry, and the digests change.
   */
  readonly preserveDigests?: boolean;
  /** Push with this manifest format: `v2s2` is what `docker push` sends, `oci` the OCI one. */
  readonly format?: 'oci' | 'v2s2';
  readonly destCredentials?: string;
  readonly srcCredentials?: string;
  /** TLS verified against this `--cert-dir` (CAs as `*.crt`, a client pair as `*.cert` + `*.key`), on both sides. */
  readonly certDir?: string;
  /** A Bearer token to send as it is (`--dest-registry-token`), for registries under `auth.token`. */
  readonly destToken?: string;
  readonly srcToken?: string;
}

export class SkopeoError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`skopeo ${args.join(' ')} failed:\n${stderr.trim()}`);
  }
}

/** `skopeo copy` over plain HTTP (or TLS with `certDir`); throws SkopeoError with skopeo's own stderr. */
export async function skopeoCopy(source: string, destination: string, options: SkopeoCopyOptions = {}): Promise<void> {
  const args =
    options.certDir === undefined
      ? ['copy', '--src-tls-verify=false', '--dest-tls-verify=false']
      : ['copy', '--src-cert-dir', options.certDir, '--dest-cert-dir', options.certDir];
  if (options.all === true) args.push('--all');
  if (options.preserveDigests === true) args.push('--preserve-digests');
  if (options.format !== undefined) args.push('--format', options.format);
  if (options.srcCredentials !== undefined) args.push('--src-creds', options.srcCredentials);
  if (options.destCredentials !== undefined) args.push('--dest-creds', options.destCredentials);
  if (options.srcToken !== undefined) args.push('--src-registry-token', options.srcToken);
  if (options.destToken !== undefined) args.push('--dest-registry-token', options.destToken);
  await skopeo([...args, source, destination]);
}

/** `skopeo inspect` parsed; with `raw`, the manifest (or index) exactly as the registry serves it. */
export async function skopeoInspect(
  reference: string,
  options: { readonly raw?: boolean; readonly credentials?: string } = {},
): Promise<Record<string, unknown>> {
  const args = ['inspect', '--tls-verify=false'];
  if (options.raw === true) args.push('--raw');
  if (options.credentials !== undefined) args.push('--creds', options.credentials);
  const stdout = await skopeo([...args, reference]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function skopeo(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error('skopeo is not installed: run test/backends/install.sh (Debian package skopeo).');
    }
    throw new SkopeoError(args, failure.stderr ?? failure.message);
  }
}
