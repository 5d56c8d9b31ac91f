import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, filesystemRegistryConfig, fixturePath, freePort, repoRoot, startBerth, type TempDir } from '@berth/testing';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const seedConfig = fixturePath('seed-config.yml');

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
    for (const command of ['berth serve CONFIG', 'berth config check [--service NAME] CONFIG', 'berth config print CONFIG', 'berth garbage-collect', 'berth storage-use']) {
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

  it('berth serve refuses an htpasswd file it cannot read rather than serve an open registry', async () => {
    const file = join(work.path, 'auth.yml');
    await writeFile(file, `version: 0.1\nstorage: {inmemory: {}}\nhttp: {addr: "127.0.0.1:0"}\nauth: {htpasswd: {realm: r, path: "${join(work.path, 'missing')}"}}\n`);
    const { code, stderr } = await berth(['serve', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('auth.htpasswd.path:');
    expect(stderr).toContain('cannot be read (ENOENT)');
  });

  it('berth serve, stopping, answers a request on a busy keep-alive connection, then closes it', async () => {
    // Fastify's own answer there was a 503 whose body is no OCI error: a push caught in a
    // rolling restart failed. Go's Shutdown lets such a connection finish, as berth now does.
    const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'drain'), port: await freePort() });
    const server = await startBerth({ config, topology: 'all-in-one' });
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const answer = async (): Promise<string> => {
      for (let tries = 0; tries < 100 && !/\r\n\r\n/.test(received); tries++) await new Promise((r) => setTimeout(r, 50));
      const [head] = received.split('\r\n\r\n');
      received = '';
      return head!;
    };
    try {
      socket.write('POST /v2/drain/blobs/uploads/ HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n\r\n');
      // The Location is absolute (on the Host sent); the request line takes its path.
      const location = new URL(/^location: (\S+)$/im.exec(await answer())![1]!, 'http://berth');
      // A chunk half sent when the stop begins: the connection is busy, so it stays open.
      socket.write(`PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/octet-stream\r\nContent-Length: 8\r\n\r\nhalf`);
      server.kill('SIGTERM');
      // Draining once the listener refuses new connections.
      for (let tries = 0; tries < 100; tries++) {
        const refused = await new Promise<boolean>((resolve) => {
          const probe = connect(Number(port), hostname, () => (probe.destroy(), resolve(false))).once('error', () => resolve(true));
        });
        if (refused) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      socket.write('done');
      expect(await answer()).toMatch(/^HTTP\/1\.1 202 /);
      socket.write('GET /v2/ HTTP/1.1\r\nHost: berth\r\n\r\n');
      const next = await answer();
      expect(next).toMatch(/^HTTP\/1\.1 200 /);
      expect(next).toMatch(/^connection: close$/im);
      await closed;
      expect(await server.process.waitForExit()).toMatchObject({ signal: 'SIGTERM' });
    } finally {
      socket.destroy();
      await server.stop();
    }
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

  it('berth serve answers /debug/health on http.debug.addr: {} while healthy, the failing check while not', async () => {
    const root = join(work.path, 'debug', 'root');
    await mkdir(root, { recursive: true });
    const debugAddr = `127.0.0.1:${await freePort()}`;
    const config: Record<string, unknown> = {
      ...filesystemRegistryConfig({ rootDirectory: root, port: await freePort() }),
      health: { storagedriver: { enabled: true, interval: '200ms', threshold: 1 } },
    };
    (config.http as Record<string, unknown>).debug = { addr: debugAddr };
    const server = await startBerth({ config, topology: 'all-in-one' });
    const health = async () => {
      const res = await fetch(`http://${debugAddr}/debug/health`);
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const eventually = async (status: number) => {
      for (let tries = 0; tries < 50 && (await health()).status !== status; tries++) await new Promise((r) => setTimeout(r, 100));
      return health();
    };
    try {
      expect(await health()).toEqual({ status: 200, body: {} });
      expect((await fetch(`http://${debugAddr}/debug/vars`)).status).toBe(404);

      // The root becomes a symlink to itself: every stat fails (ELOOP), not "not found".
      await rename(root, `${root}.away`);
      await symlink(root, root);
      const failing = await eventually(503);
      expect(failing.status).toBe(503);
      expect(Object.keys(failing.body)).toEqual(['storagedriver_filesystem']);
      expect(failing.body.storagedriver_filesystem).toContain('ELOOP');
      expect((await fetch(`${server.url}/v2/`)).status).toBe(503);

      await unlink(root);
      await rename(`${root}.away`, root);
      expect(await eventually(200)).toEqual({ status: 200, body: {} });
    } finally {
      await server.stop();
    }
  });
});
