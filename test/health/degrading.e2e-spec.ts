import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, freePort, PrivateRedis, PrivateSwift, sampleSum, scrapeMetrics, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Health that degrades, driven by real faults: a filesystem root made read-only under a running
 * berth (a read-only bind mount over it: tests run as root, whom chmod does not stop), a Swift
 * proxy stopped and started, Redis killed and restarted, the health service killed. Statuses
 * and bodies are asserted; times in check intervals with a tolerance (see storage-outage).
 */
const run = promisify(execFile);
const interval = 2_000;
const threshold = 2;
const tolerance = interval / 2;

function config(storage: Record<string, unknown>, ports: { http: number; debug: number }, readonlyonfailure: boolean): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { ...storage, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${ports.http}`, debug: { addr: `127.0.0.1:${ports.debug}`, prometheus: { enabled: true } } },
    health: { storagedriver: { enabled: true, interval: `${interval / 1000}s`, threshold } },
    berth: { health: { storageprobe: { enabled: true, readonlyonfailure } } },
  };
}

/** Milliseconds until `probe()` is true, polled every 50 ms; fails after `limitMs`. */
async function millisecondsUntil(what: string, probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not seen within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A monolithic blob push (POST, PUT): the status of whichever answer was not the expected one, else 201. */
async function pushBlob(url: string, bytes: Buffer): Promise<{ status: number; body: string }> {
  const started = await fetch(`${url}/v2/degrade/demo/blobs/uploads/`, { method: 'POST' });
  if (started.status !== 202) return { status: started.status, body: await started.text() };
  const location = new URL(started.headers.get('location')!, url);
  location.searchParams.set('digest', sha256(bytes));
  const finished = await fetch(location, { method: 'PUT', body: bytes });
  return { status: finished.status, body: await finished.text() };
}

async function readyz(debugUrl: string): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const response = await fetch(`${debugUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
}

/** A read-only bind mount over `dir`: writes fail with EROFS, reads go on. */
async function makeReadOnly(dir: string): Promise<void> {
  await run('mount', ['--bind', dir, dir]);
  await run('mount', ['-o', 'remount,ro,bind', dir]);
}

describe('a filesystem root made read-only under a running berth (the write probe)', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-health-readonly-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  for (const readonlyonfailure of [true, false]) {
    it(`berth.health.storageprobe.readonlyonfailure: ${readonlyonfailure} → ${readonlyonfailure ? 'pushes 503, pulls served' : 'every request 503, as the reference'}; writable again → pushes within one interval`, async () => {
      const root = join(work.path, `root-${readonlyonfailure}`);
      await mkdir(root, { recursive: true });
      const ports = { http: await freePort(), debug: await freePort() };
      const debugUrl = `http://127.0.0.1:${ports.debug}`;
      const berth = await startBerth({ topology: 'all-in-one', config: config({ filesystem: { rootdirectory: root } }, ports, readonlyonfailure) });
      let mounted = false;
      try {
        const layer = randomBytes(64 * 1024);
        expect((await pushBlob(berth.url, layer)).status).toBe(201);
        const digest = sha256(layer);
        // The probes have run once and passed.
        await millisecondsUntil('probes reported', async () => sampleSum(await scrapeMetrics(`${debugUrl}/metrics`), 'berth_health_check_healthy', { check: 'berth_writeprobe' }) === 1, 2 * interval);

        await makeReadOnly(root);
        mounted = true;
        const refusedAfter = await millisecondsUntil('pushes refused', async () => (await pushBlob(berth.url, randomBytes(1024))).status === 503, (threshold + 3) * interval);
        const refused = await pushBlob(berth.url, randomBytes(1024));
        expect(refused.status).toBe(503);
        const pull = await fetch(`${berth.url}/v2/degrade/demo/blobs/${digest}`);
        const base = await fetch(`${berth.url}/v2/`);
        if (readonlyonfailure) {
          // The request id follows, as in every 5xx detail but the reference's own health-gate 503.
          expect(JSON.parse(refused.body)).toMatchObject({
            errors: [{ code: 'UNAVAILABLE', detail: expect.stringMatching(/^the storage cannot be written \(read-only until the write probe passes\): please see \/debug\/health \(request id [\w-]+\)$/) }],
          });
          expect(pull.status).toBe(200);
          expect(Buffer.from(await pull.arrayBuffer()).equals(layer)).toBe(true);
          expect(base.status).toBe(200);
          // It can serve (pulls): ready.
          expect((await readyz(debugUrl)).status).toBe(200);
        } else {
          expect(JSON.parse(refused.body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE', detail: 'health check failed: please see /debug/health' }] });
          expect(pull.status).toBe(503);
          expect(base.status).toBe(503);
          const ready = await readyz(debugUrl);
          expect(ready.status).toBe(503);
          expect(ready.body.checks.health).toMatch(/^health checks fail: berth_writeprobe: /);
          expect(ready.body.checks.storage).toBe('ok');
        }
        const health = await fetch(`${debugUrl}/debug/health`);
        expect(health.status).toBe(503);
        const failing = (await health.json()) as Record<string, string>;
        expect(Object.keys(failing)).toEqual(['berth_writeprobe']);
        expect(failing.berth_writeprobe).toMatch(/^filesystem: EROFS on \/berth\/health\/writeprobe-/);
        const samples = await scrapeMetrics(`${debugUrl}/metrics`);
        expect(sampleSum(samples, 'berth_health_check_healthy', { check: 'berth_writeprobe' })).toBe(0);
        expect(sampleSum(samples, 'berth_health_check_healthy', { check: 'berth_readprobe' })).toBe(1);
        expect(sampleSum(samples, 'berth_health_check_healthy', { check: 'storagedriver_filesystem' })).toBe(1);
        expect((await fetch(`${debugUrl}/livez`)).status).toBe(200);

        await run('umount', [root]);
        mounted = false;
        const writableAfter = await millisecondsUntil('pushes served again', async () => (await pushBlob(berth.url, randomBytes(1024))).status === 201, 3 * interval);
        console.log(`[health] read-only root (readonlyonfailure ${readonlyonfailure}): pushes 503 after ${refusedAfter} ms, served again ${writableAfter} ms after (interval ${interval} ms, threshold ${threshold})`);
        expect(refusedAfter).toBeLessThanOrEqual((threshold + 1) * interval + tolerance);
        expect(writableAfter).toBeLessThanOrEqual(interval + tolerance);
      } finally {
        if (mounted) await run('umount', [root]);
        await berth.stop();
      }
    }, 180_000);
  }
});

describe('on a Swift of its own: the proxy stopped and started', () => {
  let swift: PrivateSwift;

  beforeAll(async () => {
    swift = await PrivateSwift.start();
  });

  afterAll(async () => {
    await swift?.remove();
  });

  it('/readyz 503 naming the storage within the readiness timeout, /livez 200 throughout; started again → /readyz 200 within one interval', async () => {
    const ports = { http: await freePort(), debug: await freePort() };
    const debugUrl = `http://127.0.0.1:${ports.debug}`;
    const berth = await startBerth({
      topology: 'all-in-one',
      readyTimeoutMs: 60_000,
      config: config({ swift: { ...swift.backend, container: 'berth-health-readyz' } }, ports, true),
    });
    try {
      expect(await readyz(debugUrl)).toEqual({ status: 200, body: { status: 'ready', checks: { storage: 'ok', health: 'ok' } } });
      await swift.stopProxy();
      const stoppedAt = Date.now();
      let notReadyAfter: number;
      let healthFailedAfter: number;
      try {
        notReadyAfter = await millisecondsUntil('readyz 503', async () => (await readyz(debugUrl)).status === 503, 2 * interval);
        const ready = await readyz(debugUrl);
        expect(ready.body.status).toBe('not ready');
        expect(ready.body.checks.storage).not.toBe('ok');
        expect((await fetch(`${debugUrl}/livez`)).status).toBe(200);
        // Every check fails, the write probe among them: every request 503, whatever the switch.
        await millisecondsUntil('GET /v2/ 503', async () => (await fetch(`${berth.url}/v2/`)).status === 503, (threshold + 3) * interval);
        healthFailedAfter = Date.now() - stoppedAt;
        // Each check runs on a timer of its own: the three fail within an interval of each other.
        const failing = async () => Object.keys((await (await fetch(`${debugUrl}/debug/health`)).json()) as Record<string, string>).sort();
        await millisecondsUntil('every storage check failing', async () => (await failing()).length === 3, interval + tolerance);
        expect(await failing()).toEqual(['berth_readprobe', 'berth_writeprobe', 'storagedriver_swift']);
      } finally {
        await swift.startProxy();
      }
      const readyAfter = await millisecondsUntil('readyz 200', async () => (await readyz(debugUrl)).status === 200, 3 * interval);
      console.log(`[health] swift proxy stopped: /readyz 503 after ${notReadyAfter} ms, 503 for requests after ${healthFailedAfter} ms; started: /readyz 200 after ${readyAfter} ms`);
      expect(healthFailedAfter).toBeLessThanOrEqual((threshold + 1) * interval + tolerance);
      expect(readyAfter).toBeLessThanOrEqual(interval + tolerance);
      expect((await fetch(`${berth.url}/v2/`)).status).toBe(200);
    } finally {
      await berth.stop();
    }
  }, 180_000);
});

describe('distributed: Redis killed, the health service killed', () => {
  let work: TempDir;
  let redis: PrivateRedis;

  beforeAll(async () => {
    work = await createTempDir('berth-health-distributed-');
    redis = await PrivateRedis.start();
  });

  afterAll(async () => {
    await redis?.kill();
    await work?.remove();
  });

  it("Redis killed → the gateway's /readyz 503 naming redis; back → 200. The health service killed → /readyz 503 within 3 intervals + 1 s, and pushes and pulls go on (the documented policy)", async () => {
    const ports = { http: await freePort(), debug: await freePort() };
    const debugUrl = `http://127.0.0.1:${ports.debug}`;
    const berth = await startBerth({
      topology: 'distributed',
      readyTimeoutMs: 90_000,
      config: { ...config({ filesystem: { rootdirectory: join(work.path, 'root') } }, ports, true), redis: { addr: redis.addr } },
    });
    try {
      await millisecondsUntil('gateway ready', async () => (await readyz(debugUrl)).status === 200, 3 * interval);
      expect((await readyz(debugUrl)).body.checks).toEqual({ storage: 'ok', redis: 'ok', peers: 'ok', health: 'ok' });

      await redis.kill();
      const redisGoneAfter = await millisecondsUntil('readyz 503 for redis', async () => (await readyz(debugUrl)).status === 503, 2 * interval + 2_000);
      const gone = await readyz(debugUrl);
      expect(gone.body.checks.redis).not.toBe('ok');
      expect(gone.body.checks.storage).toBe('ok');
      expect((await fetch(`${debugUrl}/livez`)).status).toBe(200);
      await redis.restart();
      // Every instance announces itself again within its heartbeat; the health service publishes at its next check.
      const redisBackAfter = await millisecondsUntil('readyz 200 after redis', async () => (await readyz(debugUrl)).status === 200, 15_000);
      console.log(`[health] redis killed: gateway /readyz 503 after ${redisGoneAfter} ms; restarted: 200 after ${redisBackAfter} ms`);

      const health = berth.instances.find((instance) => instance.service === 'health')!;
      health.process.kill('SIGKILL');
      const killedAt = Date.now();
      await millisecondsUntil('readyz 503 for health', async () => (await readyz(debugUrl)).status === 503, 3 * interval + 1_000 + 3 * tolerance);
      const noticedAfter = Date.now() - killedAt;
      const noticed = await readyz(debugUrl);
      expect(noticed.body.checks.health).toBe('no health report: the health service is not publishing');
      console.log(`[health] health service killed: noticed by the gateway's /readyz after ${noticedAfter} ms (bound: 3 intervals + 1 s = ${3 * interval + 1_000} ms)`);
      // At least the report's life since its last publication (up to one interval before the kill).
      expect(noticedAfter).toBeGreaterThanOrEqual(2 * interval - tolerance);
      expect(noticedAfter).toBeLessThanOrEqual(3 * interval + 1_000 + tolerance);
      // The policy: without a health service the gateway serves, as with no health checks.
      const layer = randomBytes(4096);
      expect((await pushBlob(berth.url, layer)).status).toBe(201);
      expect((await fetch(`${berth.url}/v2/degrade/demo/blobs/${sha256(layer)}`)).status).toBe(200);
    } finally {
      await berth.stop();
    }
  }, 300_000);
});
