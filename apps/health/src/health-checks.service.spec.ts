import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessHealthBoard } from '@berth/bus';
import type { BerthConfig } from '@berth/config';
import { createStorageDriver, type StorageDriver, StorageDriverError } from '@berth/storage-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthChecksService } from './health-checks.service';

/**
 * The inmemory driver, with a switch that makes the backend fail as a stopped server would
 * (`down`), or never answer as a stopped-but-listening one would (`hung`).
 */
function switchableDriver(): { driver: StorageDriver; down: (state: boolean | 'hung') => void } {
  const real = createStorageDriver('inmemory', {});
  let state: boolean | 'hung' = false;
  const driver = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'stat' && state === 'hung') return () => new Promise(() => undefined);
      if (key === 'stat' && state) return () => Promise.reject(new StorageDriverError('connection refused', 'inmemory'));
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { driver, down: (value) => (state = value) };
}

function service(threshold: number, interval = 10_000) {
  const { driver, down } = switchableDriver();
  const board = new InProcessHealthBoard();
  const config = {
    health: { storagedriver: { enabled: true, interval, threshold }, file: [], http: [], tcp: [] },
    berth: { health: { storageprobe: { enabled: false, readonlyonfailure: false } } },
  } as unknown as BerthConfig;
  return { sut: new HealthChecksService(driver, board, config), board, down };
}

describe(HealthChecksService.name, () => {
  it('the storage probes (berth.health.storageprobe): written, read back and removed; a storage that refuses writes fails the write probe alone', async () => {
    const real = createStorageDriver('inmemory', {});
    let readOnly = false;
    const driver = new Proxy(real, {
      get(target, key, receiver) {
        if (key === 'putContent' && readOnly) return () => Promise.reject(new StorageDriverError('EROFS: read-only file system', 'inmemory'));
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const config = {
      health: { storagedriver: { enabled: true, interval: 10_000, threshold: 1 }, file: [], http: [], tcp: [] },
      berth: { health: { storageprobe: { enabled: true, readonlyonfailure: true } } },
    } as unknown as BerthConfig;
    const sut = new HealthChecksService(driver, new InProcessHealthBoard(), config);
    const good = await sut.check();
    expect(Object.keys(good.checks)).toEqual(['storagedriver_inmemory', 'berth_writeprobe', 'berth_readprobe']);
    expect(good.healthy).toBe(true);
    // Removed after: nothing of the probe stays under berth/health.
    expect(await real.list('/berth/health').catch(() => [])).toEqual([]);
    readOnly = true;
    const bad = await sut.check();
    expect(bad.healthy).toBe(false);
    expect(bad.checks.berth_writeprobe).toMatchObject({ healthy: false, lastError: 'inmemory: EROFS: read-only file system' });
    expect(bad.checks.berth_readprobe?.healthy).toBe(true);
    expect(bad.checks.storagedriver_inmemory?.healthy).toBe(true);
  });

  it('an empty storage (root not found) is healthy: the backend answered', async () => {
    const { sut, board } = service(3);
    expect((await sut.check()).healthy).toBe(true);
    expect((await board.current())?.checks).toEqual({ storagedriver_inmemory: { healthy: true, consecutiveFailures: 0 } });
  });

  it('turns unhealthy at the threshold-th consecutive failure, and healthy at the next good check', async () => {
    const { sut, board, down } = service(3);
    down(true);
    expect((await sut.check()).healthy).toBe(true);
    expect((await sut.check()).healthy).toBe(true);
    const failed = await sut.check();
    expect(failed.healthy).toBe(false);
    expect(failed.checks.storagedriver_inmemory).toMatchObject({ consecutiveFailures: 3, lastError: 'inmemory: connection refused' });
    expect((await board.current())?.healthy).toBe(false);
    down(false);
    expect((await sut.check()).healthy).toBe(true);
    expect((await board.current())?.healthy).toBe(true);
  });

  it('a good check in between resets the count', async () => {
    const { sut, down } = service(2);
    down(true);
    await sut.check();
    down(false);
    await sut.check();
    down(true);
    expect((await sut.check()).healthy).toBe(true);
  });

  it('a storage driver that never answers fails at each interval: unhealthy after threshold intervals, not later', async () => {
    const interval = 500;
    const threshold = 3;
    const { sut, board, down } = service(threshold, interval);
    down('hung');
    const started = Date.now();
    sut.onApplicationBootstrap();
    try {
      while ((await board.current())?.healthy !== false) await new Promise((resolve) => setTimeout(resolve, 10));
      const elapsed = Date.now() - started;
      // Each run gives up at its interval and the next follows at once (skipping the tick that
      // came while a run hung took one interval more): half an interval of tolerance.
      expect(elapsed).toBeGreaterThanOrEqual(threshold * interval - 10);
      expect(elapsed).toBeLessThan((threshold + 0.5) * interval);
      expect((await board.current())?.checks.storagedriver_inmemory?.lastError).toBe('inmemory: no answer within 500ms');
    } finally {
      sut.onApplicationShutdown();
    }
  });

  describe('file, http and tcp checks', () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    /** Each check with the defaults of a config file that sets only what is given. */
    function checksOf(health: { file?: object[]; http?: object[]; tcp?: object[] }) {
      const board = new InProcessHealthBoard();
      const every = { interval: 10_000, threshold: 0 };
      const config = {
        health: {
          storagedriver: { enabled: false, interval: 10_000, threshold: 1 },
          file: (health.file ?? []).map((check) => ({ ...every, ...check })),
          http: (health.http ?? []).map((check) => ({ ...every, headers: {}, statuscode: 200, ...check })),
          tcp: (health.tcp ?? []).map((check) => ({ ...every, ...check })),
        },
        berth: { health: { storageprobe: { enabled: false, readonlyonfailure: false } } },
      } as unknown as BerthConfig;
      return new HealthChecksService(createStorageDriver('inmemory', {}), board, config);
    }

    it('a file check fails while its file exists, the operator\'s switch to take the registry out', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'berth-health-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const file = join(dir, 'down');
      const sut = checksOf({ file: [{ file }] });
      expect((await sut.check()).healthy).toBe(true);
      await writeFile(file, '');
      expect((await sut.check()).checks[file]).toEqual({ healthy: false, consecutiveFailures: 1, lastError: 'file exists' });
      await rm(file);
      expect((await sut.check()).healthy).toBe(true);
    });

    it('an http check wants its status code, sends its headers, and counts failures to its threshold', async () => {
      let status = 200;
      const seen: unknown[] = [];
      const server: Server = createServer((req, res) => {
        seen.push(req.headers['x-probe']);
        res.writeHead(status).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`;
      const sut = checksOf({ http: [{ uri, headers: { 'X-Probe': ['berth'] }, threshold: 2 }] });
      expect((await sut.check()).healthy).toBe(true);
      expect(seen).toEqual(['berth']);
      status = 500;
      expect((await sut.check()).healthy).toBe(true);
      const failed = await sut.check();
      expect(failed.healthy).toBe(false);
      expect(failed.checks[uri]).toMatchObject({ consecutiveFailures: 2, lastError: 'downstream service returned unexpected status: 500' });
    });

    it('a tcp check fails when nothing listens, and one failing check makes the whole registry unhealthy', async () => {
      const listen = async () => {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return { server, addr: `127.0.0.1:${(server.address() as AddressInfo).port}` };
      };
      const { server, addr: listening } = await listen();
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const gone = await listen();
      await new Promise((resolve) => gone.server.close(resolve));
      const closed = gone.addr;
      const report = await checksOf({ tcp: [{ addr: listening }, { addr: closed }] }).check();
      expect(report.healthy).toBe(false);
      expect(report.checks[listening]).toEqual({ healthy: true, consecutiveFailures: 0 });
      expect(report.checks[closed]?.lastError).toContain(`connection to ${closed} failed`);
    });
  });
});
