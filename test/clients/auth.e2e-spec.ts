import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type BerthProcess,
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  htpasswdLine,
  makeTestCertificate,
  registryClaims,
  signRegistryToken,
  skopeoCopy,
  skopeoInspect,
  skopeoRef,
  startBerth,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const password = 'Podman-Pw-4f1c9e';

/**
 * podman as the docker CLI stands in here (TESTBED.md): root, the vfs storage driver, its own
 * store and auth file under `work`, so nothing is shared with the machine's other podman users.
 */
function podman(work: string) {
  const base = ['--root', join(work, 'podman-root'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs'];
  const authfile = join(work, 'auth.json');
  return async (...args: string[]): Promise<{ ok: boolean; out: string; stdout: string }> => {
    const [command, ...rest] = args;
    const withAuth = ['login', 'logout', 'push', 'pull'].includes(command!) ? ['--authfile', authfile] : [];
    try {
      const { stdout, stderr } = await run('podman', [...base, command!, ...withAuth, ...rest], { maxBuffer: 16 * MiB });
      return { ok: true, out: stdout + stderr, stdout };
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, out: `${failure.stdout ?? ''}${failure.stderr ?? failure.message}`, stdout: failure.stdout ?? '' };
    }
  };
}

describe('podman and skopeo under auth.htpasswd', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let host: string;

  beforeAll(async () => {
    work = await createTempDir('berth-auth-clients-');
    const htpasswd = join(work.path, 'htpasswd');
    await writeFile(htpasswd, `${htpasswdLine('alice', password)}\n`);
    const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'registry'), port: await freePort() });
    // Every line berth can write, so that the test below can look for secrets in them.
    config.log = { level: 'debug', accesslog: { disabled: false } };
    berth = await startBerth({ config: { ...config, auth: { htpasswd: { realm: 'berth-clients', path: htpasswd } } } });
    host = new URL(berth.url).host;
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('podman login refuses a wrong password, takes the right one; push and pull go through', async () => {
    const p = podman(work.path);
    const wrong = await p('login', '--tls-verify=false', '-u', 'alice', '-p', 'not-the-password', host);
    expect(wrong.ok, wrong.out).toBe(false);
    expect(wrong.out).toMatch(/invalid username\/password/);
    const right = await p('login', '--tls-verify=false', '-u', 'alice', '-p', password, host);
    expect(right.ok, right.out).toBe(true);

    // podman names an image pulled from a layout after its directory, which must be lower case.
    const layout = join(tmpdir(), `berth-podman-${randomBytes(6).toString('hex')}`);
    await writeOciImageLayout(layout, { tag: 'v1', layers: [{ size: MiB }, { size: 64 * 1024 }] });
    const pulled = await p('pull', `oci:${layout}:v1`);
    expect(pulled.ok, pulled.out).toBe(true);
    const imageId = pulled.stdout.trim().split('\n').pop()!;
    const pushed = await p('push', '--tls-verify=false', '--format', 'v2s2', imageId, `${host}/team/app:v1`);
    expect(pushed.ok, pushed.out).toBe(true);
    await rm(layout, { recursive: true, force: true });
    await p('rmi', '-a', '-f');
    const back = await p('pull', '--tls-verify=false', `${host}/team/app:v1`);
    expect(back.ok, back.out).toBe(true);

    await p('logout', host);
    const anonymous = await p('pull', '--tls-verify=false', `${host}/team/app:v1`);
    expect(anonymous.ok, anonymous.out).toBe(false);
    expect(anonymous.out).toMatch(/unauthorized|authentication required/i);
  });

  it('skopeo with --creds copies in and out; without them it is refused', async () => {
    const layout = join(work.path, 'skopeo-image');
    await writeOciImageLayout(layout, { tag: 'v1', layers: [{ size: 2 * MiB }] });
    const remote = skopeoRef.registry(berth.url, 'team/skopeo', 'v1');
    await expect(skopeoCopy(skopeoRef.oci(layout, 'v1'), remote, { preserveDigests: true })).rejects.toThrow(/unauthorized|authentication required/i);
    await skopeoCopy(skopeoRef.oci(layout, 'v1'), remote, { preserveDigests: true, destCredentials: `alice:${password}` });
    const manifest = await skopeoInspect(remote, { raw: true, credentials: `alice:${password}` });
    expect(manifest.schemaVersion).toBe(2);
    await skopeoCopy(remote, skopeoRef.oci(join(work.path, 'skopeo-out'), 'v1'), { srcCredentials: `alice:${password}` });
  });

  it('no password, nor its Basic form, ever reaches a log line (debug level, access log on)', async () => {
    const basic = Buffer.from(`alice:${password}`).toString('base64');
    const logs = berth.instances.map((instance) => instance.process.stdout + instance.process.stderr).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(password);
    expect(logs).not.toContain(basic);
    expect(logs).not.toContain('not-the-password');
  });
});

describe('skopeo under auth.token, with tokens signed by a CA made for the test', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let token: (actions: string[]) => Promise<string>;

  beforeAll(async () => {
    work = await createTempDir('berth-auth-token-');
    const ca = makeTestCertificate(work.path, 'ca', { keyType: 'ec256' });
    const signer = makeTestCertificate(work.path, 'signer', { keyType: 'ec256', issuer: ca });
    const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'registry'), port: await freePort() });
    config.log = { level: 'debug', accesslog: { disabled: false } };
    const auth = { token: { realm: 'https://auth.example.test/token', service: 'berth', issuer: 'test-issuer', rootcertbundle: ca.certPath } };
    berth = await startBerth({ config: { ...config, auth } });
    token = (actions) =>
      signRegistryToken(signer.privateKey, { alg: 'ES256', x5c: [signer.x5c] }, registryClaims('test-issuer', 'berth', 'ci', [{ type: 'repository', name: 'team/app', actions }]));
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('a push,pull token pushes; a pull token pulls and is denied a push; no token reaches a log', async () => {
    const layout = join(work.path, 'image');
    await writeOciImageLayout(layout, { tag: 'v1', layers: [{ size: MiB }] });
    const remote = skopeoRef.registry(berth.url, 'team/app', 'v1');
    const pushToken = await token(['pull', 'push']);
    await skopeoCopy(skopeoRef.oci(layout, 'v1'), remote, { preserveDigests: true, destToken: pushToken });
    const pullToken = await token(['pull']);
    await skopeoCopy(remote, skopeoRef.oci(join(work.path, 'out'), 'v1'), { srcToken: pullToken });
    const other = skopeoRef.registry(berth.url, 'team/app', 'v2');
    await expect(skopeoCopy(skopeoRef.oci(layout, 'v1'), other, { preserveDigests: true, destToken: pullToken })).rejects.toThrow(/denied/i);

    const logs = berth.instances.map((instance) => instance.process.stdout + instance.process.stderr).join('\n');
    for (const secret of [pushToken, pullToken]) {
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.split('.')[2]!);
    }
  });
});
