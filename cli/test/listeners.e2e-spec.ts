import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { openRedis, ServiceDirectory } from '@berth/bus';
import { UPLOAD_SERVICE } from '@berth/contracts';
import { createTempDir, freePort, repoRoot, startBerth, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const redisAddr = process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379';

/**
 * Runs `berth serve ARGS CONFIG` to its end; one still running after `limitMs` (serving
 * nothing, the fault under test) is killed and reported with its signal.
 */
function serveUntilExit(args: string[], configFile: string, limitMs = 20_000) {
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'cli/dist/main.js'), 'serve', ...args, configFile], { timeout: limitMs }, (error, _stdout, stderr) => {
      const failed = error as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: failed ? (failed.code ?? null) : 0, signal: failed?.signal ?? null, stderr });
    });
  });
}

/** A listener of this test's own on a free loopback port: the address a berth then finds taken. */
async function takenAddress(): Promise<{ addr: string; server: Server }> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { addr: `127.0.0.1:${port}`, server };
}

describe('berth serve, a listener that cannot bind', () => {
  let work: TempDir;
  const taken: Server[] = [];

  beforeAll(async () => {
    work = await createTempDir('berth-cli-listeners-');
  });

  afterAll(async () => {
    for (const server of taken) server.close();
    await work?.remove();
  });

  async function configFile(config: Record<string, unknown>): Promise<string> {
    const file = join(work.path, `${randomBytes(4).toString('hex')}.yml`);
    const base = { version: '0.1', log: { level: 'error' }, storage: { inmemory: {} }, http: { secret: 'listeners-test-secret' } };
    await writeFile(file, dump({ ...base, ...config, http: { ...base.http, ...(config.http as object | undefined) } }));
    return file;
  }

  async function take(): Promise<string> {
    const { addr, server } = await takenAddress();
    taken.push(server);
    return addr;
  }

  for (const args of [[], ['--service', 'gateway']]) {
    it(`http.addr taken (${args.length ? args.join(' ') : 'all-in-one'}): exits 1 with one line naming the key and the address`, async () => {
      const addr = await take();
      const file = await configFile({ http: { addr }, redis: { addr: redisAddr } });
      const { code, stderr } = await serveUntilExit(args, file);
      expect(code, stderr).toBe(1);
      expect(stderr.trim()).toBe(`berth: http.addr: cannot listen on ${addr}: address already in use`);
    });
  }

  it('http.debug.addr taken: exits 1 with one line naming the key and the address', async () => {
    const addr = await take();
    const file = await configFile({ http: { addr: `127.0.0.1:${await freePort()}`, debug: { addr } } });
    const { code, stderr } = await serveUntilExit([], file);
    expect(code, stderr).toBe(1);
    expect(stderr.trim()).toBe(`berth: http.debug.addr: cannot listen on ${addr}: address already in use`);
  });

  it('berth.upload.addr taken (a second upload instance on a fixed port): exits 1 with one line, never announced', async () => {
    const addr = await take();
    const keyprefix = `berth-test-${randomBytes(6).toString('hex')}`;
    const file = await configFile({ redis: { addr: redisAddr }, berth: { upload: { addr }, bus: { keyprefix } } });
    const { code, stderr } = await serveUntilExit(['--service', 'upload'], file);
    expect(code, stderr).toBe(1);
    expect(stderr.trim()).toBe(`berth: berth.upload.addr: cannot listen on ${addr}: address already in use`);
    const [host, port] = redisAddr.split(':');
    const redis = openRedis({ host: host!, port: Number(port), db: 0, keyPrefix: keyprefix }, 'command', 'listeners-test');
    try {
      expect(await new ServiceDirectory(redis, keyprefix).list(UPLOAD_SERVICE)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('berth serve, http.addr without a host', () => {
  it('listens on every interface, as Go does (Fastify alone would take localhost only)', async () => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && !address.internal && address.family === 'IPv4');
    if (outside === undefined) throw new Error('this test needs an IPv4 address other than loopback on this machine');
    const port = await freePort();
    const berth = await startBerth({
      config: { version: '0.1', log: { level: 'error' }, storage: { inmemory: {} }, http: { addr: `:${port}` } },
      topology: 'all-in-one',
    });
    try {
      for (const host of [outside.address, '127.0.0.1', '[::1]']) expect((await fetch(`http://${host}:${port}/v2/`)).status, host).toBe(200);
    } finally {
      await berth.stop();
    }
  });
});
