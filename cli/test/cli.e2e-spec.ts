import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, filesystemRegistryConfig, freePort, repoRoot, startBerth, type TempDir } from '@berth/testing';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const seedConfig = join(repoRoot, '..', 'shared', 'fixtures', 'seed-config.yml');

/** Runs the built `berth` command; resolves with its exit code and output, whatever the code. */
async function berth(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'cli/dist/main.js'), ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the berth command', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-cli-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('berth --help explains every command', async () => {
    const { code, stdout } = await berth(['--help']);
    expect(code).toBe(0);
    for (const command of ['berth serve CONFIG', 'berth config check CONFIG', 'berth config print CONFIG']) {
      expect(stdout).toContain(command);
    }
  });

  it('berth with no command prints the usage and fails', async () => {
    const { code, stdout } = await berth([]);
    expect(code).toBe(2);
    expect(stdout).toContain('Usage:');
  });

  it('berth config check accepts the seed config as it is', async () => {
    const { code, stdout } = await berth(['config', 'check', seedConfig]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`${seedConfig}: ok`);
  });

  it('berth config print masks every secret, also one set from the environment', async () => {
    const { code, stdout } = await berth(['config', 'print', seedConfig], { REGISTRY_HTTP_SECRET: 'hmac-0123456789' });
    expect(code).toBe(0);
    expect(stdout).not.toContain('5c8d15f732104053');
    expect(stdout).not.toContain('hmac-0123456789');
    const printed = load(stdout) as { storage: { swift: Record<string, unknown> }; http: Record<string, unknown> };
    expect(printed.storage.swift).toMatchObject({ username: 'admin', password: '*****', container: 'docker_registry' });
    expect(printed.http.secret).toBe('*****');
  });

  it('berth config check names the file, the key and the problem of a broken config, and exits 2', async () => {
    const file = join(work.path, 'broken.yml');
    await writeFile(file, 'version: 0.1\nstorage:\n  filesystem: {}\n  inmemory: {}\nhttp: {addr: ":5000", hedaers: {}}\n');
    const { code, stderr } = await berth(['config', 'check', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: storage: exactly one storage driver must be configured, found 2: filesystem, inmemory`);
    expect(stderr).toContain(`${file}: http.hedaers: unknown key`);
    expect(stderr).not.toContain('    at ');
  });

  it('berth serve refuses an auth section it cannot enforce rather than serve an open registry', async () => {
    const file = join(work.path, 'auth.yml');
    await writeFile(file, 'version: 0.1\nstorage: {inmemory: {}}\nhttp: {addr: "127.0.0.1:0"}\nauth: {silly: {realm: r, service: s}}\n');
    const { code, stderr } = await berth(['serve', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('auth: authentication is not enforced by this version of berth yet');
  });

  it('berth serve runs file I/O on 16 threads unless UV_THREADPOOL_SIZE says otherwise', async () => {
    // A commit's fsync holds a thread; with libuv's 4, four commits stalled every other read.
    const threadsOf = async (threadPoolSize: string | undefined): Promise<number> => {
      const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'threads'), port: await freePort() });
      const server = await startBerth({ config, topology: 'all-in-one', env: { UV_THREADPOOL_SIZE: threadPoolSize } });
      try {
        await fetch(`${server.url}/v2/nothing/blobs/sha256:${'0'.repeat(64)}`); // a file read: the pool has started
        return (await readdir(`/proc/${server.pid}/task`)).length;
      } finally {
        await server.stop();
      }
    };
    expect((await threadsOf(undefined)) - (await threadsOf('4'))).toBe(12);
  });

  it('berth serve of a driver not in this build says so in one line', async () => {
    const file = join(work.path, 's3.yml');
    await writeFile(file, 'version: 0.1\nstorage: {s3: {region: us-east-1, bucket: images}}\nhttp: {addr: "127.0.0.1:0"}\n');
    const { code, stderr } = await berth(['serve', file]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('berth: the s3 driver is not available in this build yet');
  });
});
