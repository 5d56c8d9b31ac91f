import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { InProcessCollectionFence, openRedis, RedisCollectionFence } from '@berth/bus';
import { type CollectionFence, LeaseLostError } from '@berth/contracts';
import { type Digest, digestOf, OciError } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { createTempDir, type TempDir } from '@berth/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestReferences } from './manifest-references';
import { OnlineCollection, type OnlineCollectionOutcome } from './online-collection';
import { ReferenceGuard } from './reference-guard';
import { RUN_MARKER_PATH, RunMarker } from './run-marker';

/**
 * Online collection against each race its README names, on the filesystem driver (storage's
 * own dates: content is aged by setting its files' times back) with the fence in a real Redis
 * (BERTH_TEST_REDIS_ADDR) and in process memory. Writers are the apps' protocol, step for step
 * (ReferenceGuard, then the checks and writes ManifestStore.put and the upload commit make).
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const HOUR = 3_600_000;
const REVIEW_DELAY_MS = HOUR;

const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];
const redis: ReturnType<typeof openRedis> = openRedis({ host, port: Number(port), db: 0, keyPrefix: 'online-gc-spec' }, 'command', 'online-gc-spec');
afterAll(async () => {
  await redis.quit();
});

type Hook = (method: string, path: string) => Promise<void> | void;

/** The driver with a hook run before each call: the moment a race is staged. */
function hooked(inner: StorageDriver, hooks: { before?: Hook }): StorageDriver {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (hooks.before && typeof args[0] === 'string') await hooks.before(String(property), args[0]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A registry on disk, writers that speak the apps' protocol, and the collector. */
class Registry {
  readonly hooks: { before?: Hook } = {};
  readonly storage: RegistryStorage;
  readonly guard: ReferenceGuard;

  constructor(
    readonly root: string,
    readonly fence: CollectionFence,
    readonly prefix?: string,
  ) {
    const driver = hooked(createStorageDriver('filesystem', { rootdirectory: root }), this.hooks);
    this.storage = new RegistryStorage(driver);
    this.guard = new ReferenceGuard(fence, driver);
  }

  collector(settings: { deleteUntagged?: boolean } = {}): OnlineCollection {
    return new OnlineCollection(this.storage, this.fence, { reviewDelayMs: REVIEW_DELAY_MS, dryRun: false, deleteUntagged: settings.deleteUntagged ?? false });
  }

  async collect(settings: { deleteUntagged?: boolean; signal?: AbortSignal } = {}): Promise<OnlineCollectionOutcome> {
    return this.collector(settings).run(settings.signal);
  }

  /** An upload's commit: through the fence, then into the blob store unless there, then linked. */
  async commitBlob(repository: string, bytes: Buffer = randomBytes(64)): Promise<{ digest: Digest; size: number }> {
    const digest = digestOf(bytes);
    await this.guard.beforeReferencing([digest]);
    await this.storage.blobs.putIfAbsent(digest, bytes);
    await this.storage.linkedBlobs.link(repository, digest);
    return { digest, size: bytes.length };
  }

  /** A mount: through the fence, then linked if the blob is stored. */
  async mount(repository: string, digest: Digest): Promise<boolean> {
    await this.guard.beforeReferencing([digest]);
    if (!(await this.storage.blobs.exists(digest))) return false;
    await this.storage.linkedBlobs.link(repository, digest);
    return true;
  }

  /** A manifest PUT (by tag when `tag`): through the fence, every blob and child checked, then written. */
  async putManifest(repository: string, manifest: object, tag?: string): Promise<Digest> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(bytes);
    const { references, children, subject } = manifestReferences(bytes);
    await this.guard.beforeReferencing([digest, ...references, ...(subject ? [subject] : [])]);
    for (const reference of references) {
      const present = children.includes(reference) ? await this.storage.revisions.exists(repository, reference) : (await this.storage.linkedBlobs.stat(repository, reference)) !== undefined;
      if (!present) throw new OciError('MANIFEST_BLOB_UNKNOWN', { digest: reference });
    }
    await this.storage.blobs.putIfAbsent(digest, bytes);
    await this.storage.revisions.link(repository, digest);
    if (tag) await this.storage.tags.tag(repository, tag, digest);
    return digest;
  }

  async image(repository: string, tag?: string, layers?: { digest: Digest; size: number }[]): Promise<{ digest: Digest; blobs: Digest[] }> {
    const config = await this.commitBlob(repository);
    const parts = layers ?? [await this.commitBlob(repository)];
    const digest = await this.putManifest(repository, imageManifest(config, parts), tag);
    return { digest, blobs: [config.digest, ...parts.map((part) => part.digest)] };
  }

  async index(repository: string, children: Digest[], tag?: string): Promise<Digest> {
    return this.putManifest(repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) }, tag);
  }

  /** A pull: the tag's manifest and everything it references, down through an index, still stored. */
  async pulls(repository: string, reference: string): Promise<boolean> {
    const digest = reference.startsWith('sha256:') ? (reference as Digest) : ((await this.storage.tags.current(repository, reference)) as Digest | undefined);
    if (digest === undefined || !(await this.storage.revisions.exists(repository, digest))) return false;
    const bytes = await this.storage.blobs.get(digest);
    if (bytes === undefined) return false;
    const { references, children } = manifestReferences(bytes);
    for (const reference of references) {
      if (children.includes(reference) ? !(await this.pulls(repository, reference)) : (await this.storage.linkedBlobs.stat(repository, reference)) === undefined) return false;
    }
    return true;
  }

  async stored(digest: Digest): Promise<boolean> {
    return this.storage.blobs.exists(digest);
  }

  /** Everything written so far dated `ms` back, as if pushed that long ago (storage's dates are what the collector reads). */
  async age(ms = 2 * REVIEW_DELAY_MS): Promise<void> {
    const then = new Date(Date.now() - ms);
    const walk = async (directory: string): Promise<void> => {
      for (const entry of await readdir(directory, { withFileTypes: true })) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) await walk(path);
        else await utimes(path, then, then);
      }
    };
    await walk(this.root);
    // The fence's records of those writes age with them (they were made when the writes were).
    if (this.prefix !== undefined) {
      const key = `${this.prefix}:gc:touched`;
      const members = await redis.zrange(key, 0, -1);
      if (members.length > 0) await redis.zadd(key, ...members.flatMap((member) => [0, member]));
    } else {
      const touched = Reflect.get(this.fence, 'touched') as Map<string, number>;
      for (const digest of touched.keys()) touched.set(digest, then.getTime());
    }
  }
}

function imageManifest(config: { digest: Digest; size: number }, layers: { digest: Digest; size: number }[]): object {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer })),
  };
}

function collected(outcome: OnlineCollectionOutcome): Extract<OnlineCollectionOutcome, { kind: 'collected' }> {
  if (outcome.kind !== 'collected') throw new Error(`the run was skipped: ${outcome.reason}`);
  return outcome;
}

async function refusal(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (error) {
    if (error instanceof OciError) return `${error.code} ${error.status}`;
    throw error;
  }
  return 'accepted';
}

const fences: [string, () => { fence: CollectionFence; prefix?: string }][] = [
  ['Redis', () => ({ fence: new RedisCollectionFence(redis, `online-gc-${randomUUID()}`) })],
  ['in-process', () => ({ fence: new InProcessCollectionFence() })],
];

let work: TempDir;
beforeEach(async () => {
  work = await createTempDir('berth-online-gc-');
});
afterEach(async () => {
  await work.remove();
});

describe.each(fences)('online collection, %s fence', (fenceName, makeFence) => {
  async function registry(): Promise<Registry> {
    const { fence } = makeFence();
    const prefix = fence instanceof RedisCollectionFence ? (Reflect.get(fence, 'since') as string).slice(0, -':gc:since'.length) : undefined;
    // The records have covered the review delay (as in a cluster that has run that long).
    if (prefix !== undefined) await redis.set(`${prefix}:gc:since`, 0);
    return new Registry(join(work.path, randomUUID()), fence, prefix);
  }

  it('collects what is unreferenced and older than the review delay; keeps what is live', async () => {
    const r = await registry();
    const live = await r.image('app', 'v1');
    const garbage = await r.commitBlob('app');
    // A session a paused client will go on with: the upload purger's, with its own age, not this run's.
    const session = randomUUID();
    await r.storage.uploads.writeStartedAt('app', session, new Date().toISOString());
    await r.age();
    const { report, durationMs } = collected(await r.collect());
    expect(await r.storage.uploads.modifiedAt('app', session)).toBeDefined();
    expect(await r.stored(garbage.digest)).toBe(false);
    for (const blob of live.blobs) expect(await r.stored(blob)).toBe(true);
    expect(await r.pulls('app', 'v1')).toBe(true);
    expect(report).toMatchObject({ blobs: 1, layerLinks: 1 });
    expect(durationMs).toBeLessThan(10_000);
    // The marker is gone, the lease released: the next run goes.
    expect(await new RunMarker(r.storage.driver).liveRun()).toBeUndefined();
    collected(await r.collect());
  });

  it('race: a blob uploaded whose manifest is not pushed yet stays (young data; old data committed again: young link)', async () => {
    const r = await registry();
    const old = await r.commitBlob('app');
    const again = await r.commitBlob('other', Buffer.alloc(64, 7));
    await r.age();
    const fresh = await r.commitBlob('app');
    // The same bytes pushed again: its data is old (the commit finds it stored), the new link is not.
    await r.commitBlob('other', Buffer.alloc(64, 7));
    collected(await r.collect());
    expect(await r.stored(old.digest)).toBe(false);
    expect(await r.stored(fresh.digest)).toBe(true);
    expect(await r.stored(again.digest)).toBe(true);
    // And the manifests that follow are accepted.
    await r.putManifest('app', imageManifest(fresh, [fresh]), 'v1');
    await r.putManifest('other', imageManifest(again, [again]), 'v1');
    expect(await r.pulls('app', 'v1')).toBe(true);
    expect(await r.pulls('other', 'v1')).toBe(true);
  });

  it('race: a manifest pushed during marking that references an old unreferenced blob is spared with it', async () => {
    const r = await registry();
    const layer = await r.commitBlob('app');
    const config = await r.commitBlob('app');
    await r.age();
    let pushed: Promise<Digest> | undefined;
    r.hooks.before = (method, path) => {
      // While the collector marks (it lists the repository's layer links), before it condemns anything.
      if (pushed === undefined && method === 'list' && path.includes('/_layers')) {
        r.hooks.before = undefined;
        pushed = r.putManifest('app', imageManifest(config, [layer]), 'v1');
        return pushed.then(() => undefined);
      }
    };
    const { report } = collected(await r.collect());
    expect(pushed).toBeDefined();
    await pushed;
    expect(report.spared).toBeGreaterThanOrEqual(2);
    expect(await r.pulls('app', 'v1')).toBe(true);
  });

  it('race: a manifest pushed while its blob is being swept is refused (503), and nothing is stored that references it', async () => {
    const r = await registry();
    const layer = await r.commitBlob('app');
    const config = await r.commitBlob('app');
    await r.age();
    let answer: string | undefined;
    r.hooks.before = async (method, path) => {
      // The first blob delete: its batch is condemned.
      if (method === 'delete' && path.includes('/blobs/sha256/')) {
        r.hooks.before = undefined;
        answer = await refusal(r.putManifest('app', imageManifest(config, [layer]), 'v1'));
      }
    };
    collected(await r.collect());
    expect(answer).toBe('UNAVAILABLE 503');
    expect(await r.storage.tags.current('app', 'v1')).toBeUndefined();
    expect(await r.stored(layer.digest)).toBe(false);
    // After the run the client's retry learns the blob is gone, pushes it again, and the image is whole.
    expect(await refusal(r.putManifest('app', imageManifest(config, [layer]), 'v1'))).toBe('MANIFEST_BLOB_UNKNOWN 400');
  });

  it('race: a tag moved during marking (delete-untagged) keeps its new target and every part of it', async () => {
    const r = await registry();
    const first = await r.image('app', 'v1');
    const second = await r.image('app');
    await r.age();
    let moved = false;
    r.hooks.before = async (method, path) => {
      // Once the collector has judged `app`'s manifests (v1 names `first`; `second` looks untagged) and goes on to its layer links.
      if (!moved && method === 'list' && path.includes('/repositories/app/_layers')) {
        moved = true;
        r.hooks.before = undefined;
        const bytes = (await r.storage.blobs.get(second.digest))!;
        await r.putManifest('app', JSON.parse(bytes.toString('utf8')) as object, 'v1');
      }
    };
    collected(await r.collect({ deleteUntagged: true }));
    expect(moved).toBe(true);
    expect(await r.storage.tags.current('app', 'v1')).toBe(second.digest);
    expect(await r.pulls('app', 'v1')).toBe(true);
    // The old target was live when the mark read the tag: it goes at a later run.
    expect(await r.pulls('app', first.digest)).toBe(true);
    collected(await r.collect({ deleteUntagged: true }));
    expect(await r.pulls('app', 'v1')).toBe(true);
    expect(await r.storage.revisions.exists('app', first.digest)).toBe(false);
  });

  it('race: a mount of an old unreferenced blob is spared during marking, refused while it is swept', async () => {
    const r = await registry();
    const spared = await r.commitBlob('a');
    const swept = await r.commitBlob('a');
    await r.age();
    let refused: string | undefined;
    r.hooks.before = async (method, path) => {
      if (method === 'list' && path.includes('/_layers') && refused === undefined) {
        refused = 'pending';
        expect(await r.mount('b', spared.digest)).toBe(true);
      }
      if (method === 'delete' && path.includes('/blobs/sha256/') && refused === 'pending') {
        r.hooks.before = undefined;
        refused = await refusal(r.mount('b', swept.digest));
      }
    };
    collected(await r.collect());
    expect(refused).toBe('UNAVAILABLE 503');
    expect(await r.storage.linkedBlobs.stat('b', spared.digest)).toBeDefined();
    expect(await r.stored(swept.digest)).toBe(false);
    expect(await r.mount('b', swept.digest)).toBe(false);
  });

  it('race: a delete makes content unreferenced; only a review delay later is it collected, and a shared layer stays', async () => {
    const r = await registry();
    const shared = await r.commitBlob('app');
    const doomed = await r.image('app', 'old', [shared]);
    const kept = await r.image('app', 'new', [shared]);
    await r.storage.revisions.unlink('app', doomed.digest);
    await r.storage.tags.untag('app', 'old');
    // Deleted just now, pushed long ago: the bytes are old, the delete leaves nothing young.
    await r.age();
    collected(await r.collect());
    expect(await r.stored(doomed.blobs[0]!)).toBe(false);
    expect(await r.stored(shared.digest)).toBe(true);
    expect(await r.pulls('app', 'new')).toBe(true);
    expect(kept.blobs).toContain(shared.digest);
  });

  it('race: two collectors at once: one runs, the other is skipped; a collector that lost its lease deletes nothing more', async () => {
    const r = await registry();
    for (let i = 0; i < 3; i++) await r.commitBlob('app');
    await r.age();
    const [one, two] = await Promise.all([r.collect(), r.collect()]);
    expect([one.kind, two.kind].sort()).toEqual(['collected', 'skipped']);

    const garbage = [await r.commitBlob('app'), await r.commitBlob('app'), await r.commitBlob('app')];
    const live = await r.image('app', 'v1');
    await r.age();
    let deletes = 0;
    r.hooks.before = async (method, path) => {
      // The registry's content (not the run's own marker).
      if (method !== 'delete' || !path.startsWith('/docker/')) return;
      deletes++;
      if (deletes === 1) {
        // Paused past its lease (simulated: the lease taken away), another run took it over.
        await r.fence.release(await leaseHolder(r));
        expect((await r.fence.acquire('usurper', 60_000, REVIEW_DELAY_MS)).acquired).toBe(true);
      }
    };
    await expect(r.collect()).rejects.toBeInstanceOf(LeaseLostError);
    // The layer links' batch was condemned before the lease went; the blobs' batch after it never was.
    expect(deletes).toBe(3);
    for (const blob of garbage) expect(await r.stored(blob.digest)).toBe(true);
    expect(await r.pulls('app', 'v1')).toBe(true);
    expect(live.blobs.length).toBe(2);
  });

  it('a run whose process began stopping before it started deletes nothing, and the next run collects', async () => {
    const r = await registry();
    const garbage = await r.commitBlob('app');
    await r.age();
    await expect(r.collect({ signal: AbortSignal.abort() })).rejects.toThrow(/stopped/);
    expect(await r.stored(garbage.digest)).toBe(true);
    collected(await r.collect());
    expect(await r.stored(garbage.digest)).toBe(false);
  });

  it('race: a collector killed mid-sweep: writers are refused while its marker is live, the next run waits for it, then finishes the job', async () => {
    const r = await registry();
    const live = await r.image('app', 'v1');
    const garbage = [await r.commitBlob('app'), await r.commitBlob('app'), await r.commitBlob('app')];
    await r.age();
    // What a killed collector leaves: its lease (lapsing), its condemnations, its marker, half its deletes.
    const killed = randomUUID();
    const lease = await r.fence.acquire(killed, 100, REVIEW_DELAY_MS);
    if (!lease.acquired) throw new Error('no lease');
    await r.fence.begin(killed);
    await new RunMarker(r.storage.driver).write(killed);
    const condemned = await r.fence.condemn(killed, garbage.map((blob) => blob.digest), lease.now - REVIEW_DELAY_MS);
    expect(condemned).toHaveLength(3);
    await r.storage.linkedBlobs.removeLink('app', garbage[0]!.digest);
    await r.storage.blobs.remove(garbage[0]!.digest);
    await new Promise((resolve) => setTimeout(resolve, 150));

    // Its lease lapsed; its marker says it may still be deleting.
    expect(await refusal(r.mount('other', garbage[1]!.digest))).toBe('UNAVAILABLE 503');
    const skipped = await r.collect();
    expect(skipped).toMatchObject({ kind: 'skipped', reason: expect.stringContaining(killed) });

    // The marker ages out (dated back past its validity and the skew allowance).
    const then = new Date(Date.now() - 10 * 60_000);
    await utimes(join(r.root, RUN_MARKER_PATH), then, then);
    const { report } = collected(await r.collect());
    // What it left condemned goes. In Redis, the refused write's digest was recorded (the answer was
    // `unknown`: a write that storage then lets through must be on record), so it is spared this time.
    expect(report.blobs).toBe(fenceName === 'Redis' ? 1 : 2);
    expect(await r.stored(garbage[2]!.digest)).toBe(false);
    expect(await r.stored(garbage[1]!.digest)).toBe(fenceName === 'Redis');
    expect(await r.pulls('app', 'v1')).toBe(true);
    for (const blob of live.blobs) expect(await r.stored(blob)).toBe(true);
  });

  if (fenceName === 'Redis') {
    it('race: Redis flushed mid-run: the run stops, writers are refused while its marker stands, nothing live is lost, and collection starts over', async () => {
      const r = await registry();
      const live = await r.image('app', 'v1');
      for (let i = 0; i < 3; i++) await r.commitBlob('app');
      await r.age();
      let during: string | undefined;
      r.hooks.before = async (method, path) => {
        if (method === 'list' && path.includes('/blobs/sha256/') && during === undefined) {
          r.hooks.before = undefined;
          for (const key of await redis.keys(`${r.prefix}:*`)) await redis.del(key);
          // The run's marker is live: a write now cannot know what the run condemned, and waits.
          during = await refusal(r.image('app', 'v2'));
        }
      };
      await expect(r.collect()).rejects.toBeInstanceOf(LeaseLostError);
      expect(during).toBe('UNAVAILABLE 503');
      expect(await r.pulls('app', 'v1')).toBe(true);
      for (const blob of live.blobs) expect(await r.stored(blob)).toBe(true);
      // The run removed its marker as it stopped: writers settle and go on.
      await r.image('app', 'v2');
      expect(await r.pulls('app', 'v2')).toBe(true);
      // The records restarted: a run waits until they cover a review delay.
      expect(await r.collect()).toMatchObject({ kind: 'skipped', reason: expect.stringContaining('records begin') });
      await redis.set(`${r.prefix}:gc:since`, 0);
      const { report } = collected(await r.collect());
      expect(report.blobs).toBe(3);
      expect(await r.pulls('app', 'v1')).toBe(true);
      expect(await r.pulls('app', 'v2')).toBe(true);
    });
  }

  it('children of a live index and referrers stay with delete-untagged; an untagged manifest pushed within the delay stays', async () => {
    const r = await registry();
    const child = await r.image('multi');
    const index = await r.index('multi', [child.digest], 'latest');
    const orphan = await r.image('multi');
    await r.age();
    const young = await r.image('multi');
    collected(await r.collect({ deleteUntagged: true }));
    expect(await r.pulls('multi', 'latest')).toBe(true);
    expect(await r.pulls('multi', index)).toBe(true);
    expect(await r.storage.revisions.exists('multi', orphan.digest)).toBe(false);
    expect(await r.pulls('multi', young.digest)).toBe(true);
  });
});

/** Who holds the Redis or in-process lease now (read through a failed acquire's absence: the marker names it). */
async function leaseHolder(r: Registry): Promise<string> {
  const marker = await new RunMarker(r.storage.driver).liveRun();
  if (marker === undefined) throw new Error('no run under way');
  return marker;
}

