import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathFor } from '@berth/registry-storage';
import { type BerthProcess, createTempDir, freePort, PrivateRedis, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../e2e/support/media-types';
import { e2eConfig } from '../e2e/support/registry-under-test';
import { expectOciError, http, startUpload, withQuery } from '../e2e/support/registry-client';

/**
 * `storage.maintenance.uploadpurging` (Distribution's upload purger): uploads started longer
 * ago than `age` are removed every `interval`, once per cluster: a BullMQ job scheduler on
 * Redis when services run apart, a timer in the all-in-one process.
 */

const INTERVAL_MS = 1_000;
const purging = (options: { dryrun?: boolean } = {}) => ({ enabled: true, age: '1h', interval: '1s', dryrun: options.dryrun ?? false });

/** The e2e config with purging on, logging at info: each run logs one `upload purge:` line. */
function purgingConfig(root: string, port: number, uploadpurging: Record<string, unknown>): Record<string, unknown> {
  return { ...e2eConfig(root, port, { storage: { maintenance: { uploadpurging } } }), log: { level: 'info', accesslog: { disabled: true } } };
}

/** A session started through the registry, and where it lives on disk. */
interface Session {
  repo: string;
  location: string;
  directory: string;
}

async function startSession(url: string, root: string, repo: string): Promise<Session> {
  const location = await startUpload(url, repo);
  const id = new URL(location, 'http://placeholder').pathname.split('/').at(-1)!;
  return { repo, location, directory: join(root, pathFor({ kind: 'uploadDir', repository: repo, id })) };
}

/** Dates the session back, as if it had been started `hours` ago (RFC 3339, as the registry writes it). */
async function age(session: Session, hours: number): Promise<void> {
  const startedAt = new Date(Date.now() - hours * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await writeFile(join(session.directory, 'startedat'), startedAt);
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The purge runs a process logged so far (its log's last 64 KiB), one JSON line each. */
function runsIn(stderr: string): { time: number; msg: string }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"msg":"upload purge:'))
    .map((line) => JSON.parse(line) as { time: string; msg: string })
    .map(({ time, msg }) => ({ time: Date.parse(time), msg }));
}

/** The session is gone: storage has no trace of it, and its Location answers BLOB_UPLOAD_UNKNOWN. */
async function expectPurged(url: string, session: Session): Promise<void> {
  await until(`${session.directory} is purged`, () => !existsSync(session.directory));
  expectOciError(await http(url).get(session.location), 404, 'BLOB_UPLOAD_UNKNOWN');
}

/** A session the purger left alone is whole: it takes its blob and finishes. */
async function expectFinishes(url: string, session: Session): Promise<void> {
  expect(existsSync(session.directory)).toBe(true);
  const blob = randomBytes(1000);
  const res = await http(url).put(withQuery(session.location, { digest: digestOf(blob) })).set('Content-Type', 'application/octet-stream').send(blob);
  expect(res.status, res.text).toBe(201);
}

describe('upload purging, services apart over Redis', () => {
  let work: TempDir;
  let redis: PrivateRedis;
  let berth: BerthProcess;
  let config: Record<string, unknown>;
  let root: string;
  const keyPrefix = `berth-purge-${randomBytes(4).toString('hex')}`;
  const extra: BerthProcess[] = [];

  const uploads = () => berth.instances.filter((instance) => instance.service === 'upload');
  const clusterRuns = () => uploads().flatMap((instance) => runsIn(instance.process.stderr));
  const schedulers = () => redis.command('ZCARD', `${keyPrefix}:jobs:upload-purging:repeat`);

  beforeAll(async () => {
    work = await createTempDir('berth-purging-');
    redis = await PrivateRedis.start();
    root = join(work.path, 'registry');
    const base = purgingConfig(root, await freePort(), purging());
    // Spelled out (not left to startBerth) so that one more instance can join the same cluster.
    config = {
      ...base,
      http: { ...(base.http as object), secret: randomBytes(16).toString('hex') },
      redis: { addr: redis.addr },
      berth: { bus: { keyprefix: keyPrefix } },
    };
    berth = await startBerth({ config, topology: 'distributed', readyTimeoutMs: 60_000 });
  });

  afterAll(async () => {
    await Promise.all(extra.map((process) => process.stop()));
    await berth?.stop();
    await redis?.kill();
    await work?.remove();
  });

  it('removes an upload started longer ago than the age and keeps a fresh one; the purged Location answers BLOB_UPLOAD_UNKNOWN', async () => {
    const stale = await startSession(berth.url, root, 'purge/apart');
    const fresh = await startSession(berth.url, root, 'purge/apart');
    await age(stale, 2);
    await expectPurged(berth.url, stale);
    await expectFinishes(berth.url, fresh);
  });

  it('runs once per interval across the two upload instances, from one scheduler', async () => {
    expect(uploads()).toHaveLength(2);
    await until('two runs', () => clusterRuns().length >= 2);
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 6 * INTERVAL_MS));
    const to = Date.now();
    const inWindow = clusterRuns().filter(({ time }) => time >= from && time <= to);
    // Runs start one interval apart and never overlap, whichever instance takes them: however
    // slow the machine, no more runs end in the window than intervals fit in it, plus the one
    // under way when it opened. A schedule per instance would make about twice as many.
    expect(inWindow.length).toBeLessThanOrEqual(Math.floor((to - from) / INTERVAL_MS) + 2);
    expect(await schedulers()).toBe('1');
  });

  it('after Redis restarts empty, the upload instances schedule purging again', async () => {
    await redis.kill();
    await redis.restart();
    const stale = await startSession(berth.url, root, 'purge/after-restart');
    await age(stale, 2);
    await expectPurged(berth.url, stale);
    expect(await schedulers()).toBe('1');
  });

  it('an upload instance started with enabled: false takes purging off the cluster', async () => {
    // The operator turned it off: the first instance restarted with the new config stops it everywhere.
    const disabled = await startBerth({
      config,
      topology: 'all-in-one',
      args: ['--service', 'upload'],
      env: { REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false' },
    });
    extra.push(disabled);
    await until('the new instance serves', () => disabled.stderr.includes('"msg":"serving upload as'));
    expect(await schedulers()).toBe('0');
    // A run already under way may finish; after it, none.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
    const runs = clusterRuns().length;
    const stale = await startSession(berth.url, root, 'purge/disabled');
    await age(stale, 2);
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    expect(clusterRuns().length).toBe(runs);
    expect(runsIn(disabled.stderr)).toEqual([]);
    await expectFinishes(berth.url, stale);
  });
});

describe('upload purging, all-in-one', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-purging-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('purges on a timer in the one process', async () => {
    const root = join(work.path, 'one');
    const berth = await startBerth({ config: purgingConfig(root, await freePort(), purging()), topology: 'all-in-one' });
    try {
      const stale = await startSession(berth.url, root, 'purge/one');
      const fresh = await startSession(berth.url, root, 'purge/one');
      await age(stale, 2);
      await expectPurged(berth.url, stale);
      await expectFinishes(berth.url, fresh);
      expect(runsIn(berth.stderr).at(-1)?.msg).toMatch(/upload purge: removed \d+ uploads started more than 1h ago/);
    } finally {
      await berth.stop();
    }
  });

  it('with dryrun logs what it would remove and removes nothing', async () => {
    const root = join(work.path, 'dry');
    const berth = await startBerth({ config: purgingConfig(root, await freePort(), purging({ dryrun: true })), topology: 'all-in-one' });
    try {
      const stale = await startSession(berth.url, root, 'purge/dry');
      await age(stale, 2);
      await until('a dry run finds the stale upload', () => runsIn(berth.stderr).some(({ msg }) => msg.includes('dry run: would remove 1 uploads')));
      await expectFinishes(berth.url, stale);
    } finally {
      await berth.stop();
    }
  });
});
