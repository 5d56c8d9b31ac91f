import { mkdir, rename, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type BerthTopology, createTempDir, freePort, PrivateSwift, startBerth, startReferenceRegistry, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `health.storagedriver` on a backend that goes away under a running berth, as the issue saw
 * it on Swift: 503 UNAVAILABLE once `threshold` checks in a row failed, 200 at the first good
 * one after. Times are asserted in intervals: a check runs every interval and gives up at the
 * next, so `threshold` failures take at most `threshold + 1` intervals from the outage, and at
 * least `threshold - 1` (a check may fail the instant the outage begins).
 */
const interval = 2_000;
const threshold = 3;
/** Scheduling and a loaded machine: half an interval (a frozen proxy measured 7.9 s of the 8 allowed). */
const tolerance = interval / 2;

function healthConfig(storage: Record<string, unknown>, port: number): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { ...storage, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${port}` },
    health: { storagedriver: { enabled: true, interval: `${interval / 1000}s`, threshold } },
  };
}

/** Milliseconds until `GET /v2/` answers `status`, polled; fails after `limitMs`. */
async function millisecondsUntil(url: string, status: number, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${url}/v2/`);
    const body = await response.text();
    if (response.status === status) {
      if (status === 503) expect(JSON.parse(body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE', detail: 'health check failed: please see /debug/health' }] });
      return Date.now() - started;
    }
    if (Date.now() - started > limitMs) throw new Error(`GET /v2/ still answered ${response.status} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The outage, then the recovery, timed in intervals. */
async function expectOutageSeen(what: string, url: string, outage: { begin(): Promise<void>; end(): Promise<void> }): Promise<void> {
  expect((await fetch(`${url}/v2/`)).status).toBe(200);
  await outage.begin();
  let unhealthyAfter: number;
  try {
    unhealthyAfter = await millisecondsUntil(url, 503, (threshold + 3) * interval);
  } finally {
    await outage.end();
  }
  const healthyAfter = await millisecondsUntil(url, 200, 3 * interval);
  console.log(`[health] ${what}: 503 after ${unhealthyAfter} ms, 200 again after ${healthyAfter} ms (interval ${interval} ms, threshold ${threshold})`);
  expect(unhealthyAfter).toBeGreaterThanOrEqual((threshold - 1) * interval - tolerance);
  expect(unhealthyAfter).toBeLessThanOrEqual((threshold + 1) * interval + tolerance);
  expect(healthyAfter).toBeLessThanOrEqual(interval + tolerance);
}

describe('the storage-driver health check sees the backend go and come back', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-health-outage-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('filesystem: the root made unreachable (a symlink to itself) → 503 within threshold + 1 intervals; mended → 200 within one', async () => {
    const root = join(work.path, 'root');
    await mkdir(root, { recursive: true });
    const berth = await startBerth({ config: healthConfig({ filesystem: { rootdirectory: root } }, await freePort()), topology: 'all-in-one' });
    try {
      await expectOutageSeen('filesystem', berth.url, {
        begin: async () => {
          await rename(root, `${root}.away`);
          await symlink(root, root);
        },
        end: async () => {
          await unlink(root);
          await rename(`${root}.away`, root);
        },
      });
    } finally {
      await berth.stop();
    }
  });

  describe('on a Swift of its own', () => {
    let swift: PrivateSwift;

    beforeAll(async () => {
      swift = await PrivateSwift.start();
    });

    afterAll(async () => {
      await swift?.remove();
    });

    const onSwift = async (container: string, topology: BerthTopology) =>
      startBerth({ config: healthConfig({ swift: { ...swift.backend, container } }, await freePort()), topology, readyTimeoutMs: 60_000 });

    for (const topology of ['all-in-one', 'distributed'] as const) {
      it(`${topology}: the proxy stopped (connections refused) → 503 within threshold + 1 intervals; started again → 200 within one`, async () => {
        const berth = await onSwift(`berth-health-${topology}`, topology);
        try {
          await expectOutageSeen(`swift ${topology}, proxy stopped`, berth.url, { begin: () => swift.stopProxy(), end: () => swift.startProxy() });
        } finally {
          await berth.stop();
        }
      });
    }

    it('the reference registry on the same Swift, the yardstick: the proxy stopped → 503 within threshold + 1 intervals; started again → 200 within one', async () => {
      const port = await freePort();
      const config = healthConfig({ swift: { ...swift.backend, container: 'berth-health-reference' } }, port);
      const reference = await startReferenceRegistry({ rootDirectory: work.path, port, extraConfig: config });
      try {
        await expectOutageSeen('the reference on swift, proxy stopped', reference.url, { begin: () => swift.stopProxy(), end: () => swift.startProxy() });
      } finally {
        await reference.stop();
      }
    });

    it('all-in-one: the proxy frozen (connections accepted, never answered) → each check gives up at its interval: 503 within threshold + 1 intervals', async () => {
      const berth = await onSwift('berth-health-hung', 'all-in-one');
      try {
        await expectOutageSeen('swift all-in-one, proxy frozen', berth.url, { begin: () => swift.pauseProxy(), end: () => swift.resumeProxy() });
      } finally {
        await berth.stop();
      }
    });
  });
});
