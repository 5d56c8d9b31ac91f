import { randomBytes } from 'node:crypto';
import { InProcessLinkCache, openRedis, RedisLinkCache } from '@berth/bus';
import type { LinkCache } from '@berth/contracts';
import { type Digest, digestOf } from '@berth/oci';
import { pathFor, RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, StorageDriverError, type StorageDriver } from '@berth/storage-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { collectGarbage, type GarbageCollectionOptions } from './garbage-collector';
import { measureStorageUse } from './storage-use';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Writes straight into the layout, as a push would leave it (or as a push never could, for the reference's corner cases). */
class Layout {
  constructor(readonly storage: RegistryStorage) {}

  async blob(repository: string, bytes: Buffer = randomBytes(64)): Promise<{ digest: Digest; size: number }> {
    const digest = digestOf(bytes);
    await this.storage.blobs.putIfAbsent(digest, bytes);
    await this.storage.linkedBlobs.link(repository, digest);
    return { digest, size: bytes.length };
  }

  async image(repository: string, tag?: string, layers?: { digest: Digest; size: number }[], extra: Record<string, unknown> = {}): Promise<{ digest: Digest; blobs: Digest[] }> {
    const config = await this.blob(repository);
    const parts = layers ?? [await this.blob(repository)];
    const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: parts.map((part) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...part })), ...extra };
    const digest = await this.manifest(repository, manifest, tag);
    return { digest, blobs: [config.digest, ...parts.map((part) => part.digest)] };
  }

  async index(repository: string, children: Digest[], tag?: string): Promise<Digest> {
    return this.manifest(repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) }, tag);
  }

  async manifest(repository: string, manifest: object, tag?: string): Promise<Digest> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(bytes);
    await this.storage.blobs.putIfAbsent(digest, bytes);
    await this.storage.revisions.link(repository, digest);
    if (tag) await this.storage.tags.tag(repository, tag, digest);
    return digest;
  }

  async stored(digest: Digest): Promise<boolean> {
    return this.storage.blobs.exists(digest);
  }
}

function layout(driver: StorageDriver = createStorageDriver('inmemory', {}), links?: LinkCache): Layout {
  return new Layout(new RegistryStorage(driver, links));
}

async function collect(target: Layout, options: Partial<GarbageCollectionOptions> = {}): Promise<string[]> {
  const lines: string[] = [];
  await collectGarbage(target.storage, { dryRun: false, deleteUntagged: true, print: (line) => lines.push(line), ...options });
  return lines;
}

describe('collectGarbage', () => {
  it('a listing that fails part-way deletes nothing: the sweep needs a complete mark', async () => {
    const inner = createStorageDriver('inmemory', {});
    let failing = false;
    const driver = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'list') {
          return async (path: string) => {
            if (failing && path.includes('/repositories/b/_manifests/revisions')) throw new StorageDriverError('inmemory', path, new Error('connection reset'));
            return target.list(path);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const target = layout(driver);
    await target.image('a', 'v1');
    const untagged = await target.image('a');
    const kept = await target.image('b', 'v1');
    failing = true;
    await expect(collect(target)).rejects.toThrow(/^failed to mark: .*repositories\/b\/_manifests\/revisions/);
    for (const digest of [untagged.digest, ...untagged.blobs, kept.digest, ...kept.blobs]) expect(await target.stored(digest)).toBe(true);
  });

  it('expands a child the first time its own repository reaches it, whatever another repository marked (v3 "marked is not traversed")', async () => {
    const target = layout();
    const child = await target.image('b');
    // Repository a names the same child without holding it (a child deleted by digest): marked, never expanded there.
    await target.index('a', [child.digest], 'v1');
    await target.index('b', [child.digest], 'v1');
    await collect(target);
    for (const digest of [child.digest, ...child.blobs]) expect(await target.stored(digest)).toBe(true);
    expect(await target.storage.revisions.exists('b', child.digest)).toBe(true);
  });

  it('keeps children of indexes of indexes, and referrers of referrers', async () => {
    const target = layout();
    const leaf = await target.image('r');
    const inner = await target.index('r', [leaf.digest]);
    await target.index('r', [inner], 'v1');
    const subject = await target.image('r', 'v2');
    const signature = await target.image('r', undefined, undefined, { subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: 1 } });
    const countersignature = await target.image('r', undefined, undefined, { subject: { mediaType: OCI_MANIFEST, digest: signature.digest, size: 1 } });
    const lines = await collect(target);
    expect(lines.filter((line) => line.startsWith('manifest eligible'))).toEqual([]);
    for (const digest of [leaf.digest, ...leaf.blobs, inner, ...signature.blobs, ...countersignature.blobs]) expect(await target.stored(digest)).toBe(true);
  });

  it('a layer referenced by its sha512 digest keeps the sha256 blob its link names', async () => {
    const target = layout();
    const bytes = randomBytes(100);
    const canonical = digestOf(bytes);
    const sha512 = digestOf(bytes, 'sha512');
    await target.storage.blobs.putIfAbsent(canonical, bytes);
    await target.storage.linkedBlobs.link('s', canonical, sha512);
    await target.image('s', 'v1', [{ digest: sha512, size: 100 }]);
    await collect(target);
    expect(await target.stored(canonical)).toBe(true);
    expect(await target.storage.linkedBlobs.stat('s', sha512)).toBeDefined();
  });

  it('removes a layer link its repository no longer references, though another repository keeps the blob', async () => {
    const target = layout();
    const layer = await target.blob('a');
    await target.storage.linkedBlobs.link('b', layer.digest);
    await target.image('b', 'v1', [layer]);
    const lines = await collect(target);
    expect(lines).toContain(`a: layer link eligible for deletion: ${layer.digest}`);
    expect(await target.storage.linkedBlobs.stat('a', layer.digest)).toBeUndefined();
    expect(await target.storage.linkedBlobs.stat('b', layer.digest)).toBeDefined();
  });
});

describe('every cache learns at once of the links collected (distribution#4269)', () => {
  const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];
  const redis = openRedis({ host, port: Number(port), db: 0, keyPrefix: 'gc-spec' }, 'command', 'gc-spec');
  afterAll(async () => void (await redis.quit()));

  const caches: [string, () => [LinkCache, LinkCache]][] = [
    [
      'in-process (the all-in-one: one cache for the collector and the services)',
      () => {
        const cache = new InProcessLinkCache(100);
        return [cache, cache];
      },
    ],
    [
      'Redis, two instances',
      () => {
        const prefix = `gc-${randomBytes(4).toString('hex')}`;
        return [new RedisLinkCache(redis, prefix), new RedisLinkCache(redis, prefix)];
      },
    ],
  ];

  it.each(caches)('%s: a layer link read through the cache is gone for every reader after the run', async (_name, make) => {
    const [collectorCache, servingCache] = make();
    const driver = createStorageDriver('inmemory', {});
    const serving = layout(driver, servingCache);
    const collector = layout(driver, collectorCache);
    const layer = await serving.blob('a');
    await serving.storage.linkedBlobs.link('b', layer.digest);
    await serving.image('b', 'v1', [layer]);
    // Cached by the serving side: `a` links the layer.
    expect(await serving.storage.linkedBlobs.stat('a', layer.digest)).toBeDefined();
    await collect(collector);
    expect(await driver.list(pathFor({ kind: 'layersDir', repository: 'a' })).catch(() => [])).toEqual(expect.not.arrayContaining([expect.stringContaining(layer.digest.slice(7))]));
    // The blob is still stored (b keeps it): only the invalidation can make this answer right.
    expect(await serving.storage.linkedBlobs.stat('a', layer.digest)).toBeUndefined();
  });
});

describe('measureStorageUse', () => {
  it('counts what each repository references once, and each blob once in the total', async () => {
    const target = layout();
    const shared = await target.blob('a', randomBytes(1000));
    await target.storage.linkedBlobs.link('b', shared.digest);
    const one = await target.image('a', 'v1', [shared]);
    const two = await target.image('b', 'v1', [shared]);
    const sizeOf = async (digest: Digest) => (await target.storage.blobs.size(digest))!;
    const aBytes = (await sizeOf(one.digest)) + (await sizeOf(one.blobs[0]!)) + 1000;
    const bBytes = (await sizeOf(two.digest)) + (await sizeOf(two.blobs[0]!)) + 1000;
    const use = await measureStorageUse(target.storage);
    expect(use.repositories).toEqual([
      { repository: 'a', manifests: 1, blobs: 3, bytes: aBytes },
      { repository: 'b', manifests: 1, blobs: 3, bytes: bBytes },
    ]);
    expect(use.referenced).toEqual({ blobs: 5, bytes: aBytes + bBytes - 1000 });
  });
});
