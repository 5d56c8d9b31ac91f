import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { freePort } from './free-port';
import { filesystemRegistryConfig } from './registry-config';
import { ServerProcess } from './server-process';
import { createTempDir } from './temp-dir';

export interface ReferenceRegistryOptions {
  /** The filesystem driver's root; the config file lives in a temp dir of its own, not in here. */
  readonly rootDirectory: string;
  readonly port?: number;
  /** Merged over the minimal config, for tests that need auth, headers, other storage… */
  readonly extraConfig?: Record<string, unknown>;
}

export interface ReferenceRegistry {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly process: ServerProcess;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `docker-registry` (Distribution 2.8.2), the registry berth replaces, on a
 * filesystem root. Missing binary is an error, never a skip (STYLE.md: no silent skips).
 */
export async function startReferenceRegistry(options: ReferenceRegistryOptions): Promise<ReferenceRegistry> {
  const port = options.port ?? (await freePort());
  const config = { ...filesystemRegistryConfig({ rootDirectory: options.rootDirectory, port }), ...options.extraConfig };
  const configDir = await createTempDir('berth-reference-config-');
  const configFile = join(configDir.path, 'config.yml');
  await writeFile(configFile, dump(config));
  const env = { ...process.env };
  // Its S3 driver panics on this variable (LoadCustomCABundleError, TESTBED.md); unset for all drivers.
  delete env.AWS_CA_BUNDLE;
  const url = `http://127.0.0.1:${port}`;
  const server = await ServerProcess.start({
    label: 'the reference registry (docker-registry)',
    command: 'docker-registry',
    args: ['serve', configFile],
    env,
    readyUrl: `${url}/v2/`,
    missingHint: 'Install it with test/backends/install.sh (Debian package docker-registry).',
  }).catch(async (error: unknown) => {
    await configDir.remove();
    throw error;
  });
  const stop = async (): Promise<void> => {
    await server.stop();
    await configDir.remove();
  };
  return { url, port, process: server, stop };
}
