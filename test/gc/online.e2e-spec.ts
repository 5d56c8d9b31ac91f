import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathFor } from '@berth/registry-storage';
import { createStorageDriver, pathExists, type StorageDriver } from '@berth/storage-driver';
import { type BerthProcess, createTempDir, dropContainer, freePort, startBerth, swiftBackend, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eConfig } from '../e2e/support/registry-under-test';
import { buildImage, pushBlob, pushImage, pushManifest, type PushedImage } from '../e2e/support/registry-client';
import { deleteManifest, expectPulls } from './gc-support';

/**
 * Online garbage collection while serving (`berth.gc`), in the all-in-one (its timer, its
 * in-process fence) and with services apart (a BullMQ job, the fence in Redis), on the
 * filesystem and on Swift (BERTH_TEST_SWIFT_*: storage's dates are Swift's, its listings
 * its own): with a review delay of seconds, a blob pushed without a manifest and the layers
 * of a deleted image are gone once they are older than the delay, while pushes whose blobs come
 * a moment before their manifest keep being accepted and every live image pulls byte-identical.
 */
const REVIEW_DELAY_MS = 3_000;
const gc = { enabled: true, interval: '1s', reviewdelay: '3s', deleteuntagged: true };

function blobsOf(image: PushedImage): string[] {
  return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
}

/** Runs logged so far by every process: `garbage collection <id> in <ms> ms: …`. */
function runsIn(berth: BerthProcess): { ms: number; line: string }[] {
  return berth.instances
    .flatMap((instance) => instance.process.stderr.split('\n'))
    .map((line) => /garbage collection [0-9a-f-]{36} in (\d+) ms: ([^"]*)/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ ms: Number(match[1]), line: match[2]! }));
}

/** The exposition line of `series` (its name and labels exactly), or '' when absent. */
function metricLine(exposition: string, series: string): string {
  return exposition.split('\n').find((line) => line.startsWith(`${series} `)) ?? '';
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

const cases = [
  ['all-in-one', 'filesystem'],
  ['distributed', 'filesystem'],
  ['all-in-one', 'swift'],
  ['distributed', 'swift'],
] as const;

describe.each(cases)('online garbage collection, %s, on %s', (topology, storage) => {
  let work: TempDir;
  let berth: BerthProcess;
  /** The registry's storage as the test looks at it, behind berth's back. */
  let driver: StorageDriver;
  let dropSwiftContainer: (() => Promise<void>) | undefined;
  /** All in one: its metrics (services apart, each instance has its own `berth.debug`). */
  let metricsUrl: string | undefined;

  beforeAll(async () => {
    work = await createTempDir('berth-online-gc-');
    const base = e2eConfig(join(work.path, 'registry'), await freePort(), { berth: { gc } });
    let config: Record<string, unknown> = { ...base, log: { level: 'info', accesslog: { disabled: true } } };
    if (storage === 'swift') {
      const backend = swiftBackend();
      const swift = { ...backend, container: `berth_online_gc_${topology}` };
      await dropContainer(backend, swift.container);
      dropSwiftContainer = () => dropContainer(backend, swift.container);
      config = { ...config, storage: { swift, delete: { enabled: true } } };
      driver = createStorageDriver('swift', swift);
    } else {
      driver = createStorageDriver('filesystem', { rootdirectory: join(work.path, 'registry') });
    }
    if (topology === 'all-in-one') {
      const debugAddr = `127.0.0.1:${await freePort()}`;
      metricsUrl = `http://${debugAddr}/metrics`;
      config = { ...config, http: { ...(base.http as object), debug: { addr: debugAddr, prometheus: { enabled: true } } } };
    }
    berth = await startBerth({ config, topology, readyTimeoutMs: 90_000 });
  });

  afterAll(async () => {
    await berth?.stop();
    await dropSwiftContainer?.();
    await work?.remove();
  });

  const stored = (digest: string): Promise<boolean> => pathExists(driver, pathFor({ kind: 'blobData', digest }));

  it('collects what is unreferenced for longer than the review delay while pushes, deletes and pulls go on', async () => {
    const url = berth.url;
    const repo = `online/${topology}-${storage}`;
    const live = await pushImage(url, repo, 'live');
    const shared = live.layers[0]!;
    const doomed = await pushImage(url, repo, 'doomed', { layers: [randomBytes(900), randomBytes(300)] });
    const orphan = randomBytes(2_000);
    const orphanDigest = await pushBlob(url, repo, orphan);
    // An image that shares a layer with the live one, deleted: only its own parts go.
    const sharing = buildImage({ layers: [randomBytes(400)] });
    await deleteManifest(url, repo, doomed.digest);

    // Meanwhile, pushes whose blobs come a moment before their manifest, and pulls.
    const started = Date.now();
    const pushed: PushedImage[] = [];
    while (Date.now() - started < 4 * REVIEW_DELAY_MS) {
      const { manifest, blobs } = buildImage({ layers: [randomBytes(600)] });
      for (const blob of blobs) await pushBlob(url, repo, blob);
      await sleep(REVIEW_DELAY_MS / 3);
      await pushManifest(url, repo, `t${pushed.length}`, manifest.mediaType, manifest.bytes);
      pushed.push(manifest);
      await expectPulls(url, repo, 'live', live.digest, blobsOf(live));
    }
    for (const blob of sharing.blobs) await pushBlob(url, repo, blob);
    await pushManifest(url, repo, 'sharing', sharing.manifest.mediaType, sharing.manifest.bytes);

    const garbage = [orphanDigest, ...blobsOf(doomed), doomed.digest];
    await until('the orphaned blob and the deleted image are collected', async () => !(await Promise.all(garbage.map(stored))).includes(true));
    await expectPulls(url, repo, 'live', live.digest, blobsOf(live));
    expect(await stored(shared.digest)).toBe(true);
    for (const [index, image] of pushed.entries()) await expectPulls(url, repo, `t${index}`, image.digest, blobsOf(image));
    await expectPulls(url, repo, 'sharing', sharing.manifest.digest, blobsOf(sharing.manifest));
    // A HEAD of a collected blob says unknown at once (no cache answers for it).
    const head = await fetch(`${url}/v2/${repo}/blobs/${orphanDigest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);

    if (metricsUrl !== undefined) {
      // What was freed and what is left referenced, as the metrics report them after a run.
      const liveBytes = live.layers.reduce((sum, layer) => sum + layer.size, live.config.size);
      const metrics = await until('the storage use is measured', async () => / [1-9]/.test(metricLine(await (await fetch(metricsUrl!)).text(), 'berth_storage_use_measured_timestamp_seconds'))).then(
        async () => (await fetch(metricsUrl!)).text(),
      );
      expect(Number(metricLine(metrics, 'berth_gc_runs_total{outcome="collected"}').split(' ')[1])).toBeGreaterThan(0);
      expect(Number(metricLine(metrics, 'berth_gc_freed_bytes_total').split(' ')[1])).toBeGreaterThanOrEqual(orphan.length + 900 + 300);
      expect(Number(metricLine(metrics, `berth_storage_repository_referenced_bytes{repository="${repo}"}`).split(' ')[1])).toBeGreaterThan(liveBytes);
      expect(Number(metricLine(metrics, 'berth_storage_referenced_bytes').split(' ')[1])).toBeGreaterThan(liveBytes);
    }

    const runs = runsIn(berth);
    expect(runs.length).toBeGreaterThan(2);
    console.log(`${topology} on ${storage}: ${runs.length} runs, ${Math.min(...runs.map((run) => run.ms))}-${Math.max(...runs.map((run) => run.ms))} ms each; ${pushed.length} pushes during collection`);
  });
});
