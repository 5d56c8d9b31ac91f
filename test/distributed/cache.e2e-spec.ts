import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BerthProcess, createTempDir, filesystemRegistryConfig, freePort, PrivateRedis, startBerth, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../e2e/support/media-types';
import { expectOciError, getBlob, getManifest, http, type PushedImage, pushBlob, pushImage, uniqueRepo } from '../e2e/support/registry-client';
import { e2eConfig } from '../e2e/support/registry-under-test';

const run = promisify(execFile);

/**
 * `storage.cache.blobdescriptor` (the link cache, and manifest bytes kept by digest): Redis is
 * a cache, never the truth. Every write and delete through any instance is seen by every
 * instance at once; the reference's offline garbage collector, which berth cannot see, leaves
 * no stale answer (distribution#4269); and with the cache flushed or Redis gone, storage answers.
 *
 * Requests are sent ROUNDS times in a row: the gateway's requests queue is served by whichever
 * manifest instance has waited longest, so sequential requests reach both instances; with the
 * services apart, each check asserts that every manifest instance answered some of them (the
 * line each logs per message it runs, at debug level).
 */
const ROUNDS = 8;

/**
 * Runs `rounds` and, when the manifest service runs as several instances, asserts that each of
 * them ran some of its `manifest.get` messages: "every instance" is then what was checked.
 */
async function byEveryManifestInstance(berth: BerthProcess, rounds: () => Promise<void>): Promise<void> {
  const manifests = berth.instances.filter((instance) => instance.service === 'manifest');
  const watches = manifests.map((instance) => instance.process.watchStderr(/"msg":"handled manifest\.get /));
  try {
    await rounds();
    // A line is written before its reply; reading the pipes may lag behind the answers.
    for (const deadline = Date.now() + 5_000; watches.some((watch) => watch.lines.length === 0) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    for (const watch of watches) watch.stop();
  }
  expect(watches.map((watch) => watch.lines.length > 0), 'each manifest instance answered').toEqual(manifests.map(() => true));
}

interface Registry {
  berth: BerthProcess;
  root: string;
  redis?: PrivateRedis;
  work: TempDir;
}

async function startRegistry(topology: 'all-in-one' | 'distributed', cache: 'inmemory' | 'redis'): Promise<Registry> {
  const work = await createTempDir('berth-cache-');
  const root = join(work.path, 'registry');
  const redis = cache === 'redis' || topology === 'distributed' ? await PrivateRedis.start() : undefined;
  try {
    const config = {
      ...e2eConfig(root, await freePort(), { storage: { cache: { blobdescriptor: cache } } }),
      ...(redis ? { redis: { addr: redis.addr } } : {}),
    };
    // debug: the services log each message they run, which byEveryManifestInstance reads.
    const berth = await startBerth({ config, topology, readyTimeoutMs: 60_000, serviceLogLevel: 'debug' });
    return { berth, root, work, ...(redis ? { redis } : {}) };
  } catch (error) {
    await redis?.kill();
    await work.remove();
    throw error;
  }
}

async function stopRegistry(registry: Registry | undefined): Promise<void> {
  await registry?.berth.stop();
  await registry?.redis?.kill();
  await registry?.work.remove();
}

/** Pulls `image` ROUNDS times: manifest GET and HEAD by `reference`, every blob GET and HEAD. */
async function expectServed(berth: BerthProcess, repo: string, reference: string, image: PushedImage): Promise<void> {
  const { url } = berth;
  await byEveryManifestInstance(berth, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const manifest = await getManifest(url, repo, reference);
      expect(manifest.status, `GET ${repo}:${reference}`).toBe(200);
      expect(manifest.headers['docker-content-digest']).toBe(image.digest);
      expect((manifest.body as Buffer).equals(image.bytes)).toBe(true);
      expect((await http(url).head(`/v2/${repo}/manifests/${reference}`).set('Accept', image.mediaType)).status).toBe(200);
      for (const blob of [image.config, ...image.layers]) {
        const pulled = await getBlob(url, repo, blob.digest);
        expect(pulled.status, `GET ${repo}@${blob.digest}`).toBe(200);
        expect(digestOf(pulled.body as Buffer)).toBe(blob.digest);
        const head = await http(url).head(`/v2/${repo}/blobs/${blob.digest}`);
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(blob.size));
      }
    }
  });
}

async function expectManifestUnknown(berth: BerthProcess, repo: string, reference: string): Promise<void> {
  const { url } = berth;
  await byEveryManifestInstance(berth, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      expectOciError(await getManifest(url, repo, reference), 404, 'MANIFEST_UNKNOWN');
      expect((await http(url).head(`/v2/${repo}/manifests/${reference}`)).status).toBe(404);
    }
  });
}

/** 404 BLOB_UNKNOWN for GET (an error body, not a broken stream) and for HEAD. */
async function expectBlobUnknown(url: string, repo: string, digest: string): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const pulled = await getBlob(url, repo, digest);
    expectOciError(pulled, 404, 'BLOB_UNKNOWN');
    expect(pulled.headers['docker-content-digest']).toBeUndefined();
    expect((await http(url).head(`/v2/${repo}/blobs/${digest}`)).status).toBe(404);
  }
}

async function deleteReference(url: string, repo: string, reference: string): Promise<void> {
  const res = await http(url).delete(`/v2/${repo}/manifests/${reference}`);
  expect(res.status, res.text).toBe(202);
}

/**
 * The reference's `registry garbage-collect --delete-untagged` on berth's storage while berth
 * runs and has everything in its caches: the untagged image's manifest and its blobs go.
 */
function collectingGarbageBehindBerth(registry: () => Registry): void {
  it("the reference's offline garbage collection leaves no stale answer (distribution#4269)", async () => {
    const { berth, root, work } = registry();
    const repo = uniqueRepo('gc');
    const kept = await pushImage(berth.url, repo, 'keep');
    const collected = await pushImage(berth.url, repo, 'collect');
    await expectServed(berth, repo, 'keep', kept);
    await expectServed(berth, repo, 'collect', collected);
    await deleteReference(berth.url, repo, 'collect');
    // Untagged now, and still served by digest: from the caches.
    await expectServed(berth, repo, collected.digest, collected);

    const gcConfig = join(work.path, `gc-${repo}.yml`);
    await writeFile(gcConfig, dump(filesystemRegistryConfig({ rootDirectory: root, port: await freePort() })));
    await run('docker-registry', ['garbage-collect', '--delete-untagged', gcConfig]);

    await expectManifestUnknown(berth, repo, collected.digest);
    for (const blob of [collected.config, ...collected.layers]) await expectBlobUnknown(berth.url, repo, blob.digest);
    await expectServed(berth, repo, 'keep', kept);
  });

  it('a blob whose data vanished behind berth answers 404 BLOB_UNKNOWN, to GET and HEAD', async () => {
    const { berth, root } = registry();
    const repo = uniqueRepo('vanished');
    const image = await pushImage(berth.url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    const [layer] = image.layers;
    const hex = layer!.digest.slice('sha256:'.length);
    await rm(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true });
    await expectBlobUnknown(berth.url, repo, layer!.digest);
  });
}

/** What every write and delete must invalidate, seen through every instance. */
function invalidatedByEveryWrite(registry: () => Registry): void {
  it('after a tag is deleted every instance answers 404; a push of the tag brings it back', async () => {
    const { berth } = registry();
    const { url } = berth;
    const repo = uniqueRepo('untag');
    const image = await pushImage(url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    await deleteReference(url, repo, 'v1');
    await expectManifestUnknown(berth, repo, 'v1');
    const again = await pushImage(url, repo, 'v1');
    await expectServed(berth, repo, 'v1', again);
  });

  it('a tag moved by a push is served by every instance at once', async () => {
    const { berth } = registry();
    const { url } = berth;
    const repo = uniqueRepo('move');
    await expectServed(berth, repo, 'latest', await pushImage(url, repo, 'latest'));
    await expectServed(berth, repo, 'latest', await pushImage(url, repo, 'latest'));
  });

  it('after a manifest is deleted by digest every instance answers 404, by digest and by its tags', async () => {
    const { berth } = registry();
    const { url } = berth;
    const repo = uniqueRepo('delete');
    const image = await pushImage(url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    await expectServed(berth, repo, image.digest, image);
    await deleteReference(url, repo, image.digest);
    await expectManifestUnknown(berth, repo, image.digest);
    await expectManifestUnknown(berth, repo, 'v1');
  });

  it('after a blob is deleted HEAD and GET answer 404 BLOB_UNKNOWN; its upload brings it back', async () => {
    const { berth } = registry();
    const { url } = berth;
    const repo = uniqueRepo('unlink');
    const layerBytes = randomBytes(2048);
    const image = await pushImage(url, repo, 'v1', { layers: [layerBytes] });
    await expectServed(berth, repo, 'v1', image);
    const [layer] = image.layers;
    expect((await http(url).delete(`/v2/${repo}/blobs/${layer!.digest}`)).status).toBe(202);
    await expectBlobUnknown(url, repo, layer!.digest);
    // A client told "unknown" uploads it again (a stale 200 would have made it skip the layer).
    await pushBlob(url, repo, layerBytes);
    await expectServed(berth, repo, 'v1', image);
  });
}

describe('caches: services run apart, storage.cache.blobdescriptor: redis', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry('distributed', 'redis');
  });
  afterAll(async () => {
    await stopRegistry(registry);
  });

  it("reads fill the cache in Redis, under berth's key prefix", async () => {
    const { berth, redis } = registry;
    const repo = uniqueRepo('fill');
    const image = await pushImage(berth.url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    const keys = (await redis!.command('KEYS', `${berth.keyPrefix}:cache:link:*`)).split('\n');
    expect(keys).toContain(`${berth.keyPrefix}:cache:link:/docker/registry/v2/repositories/${repo}/_manifests/tags/v1/current/link`);
    const hex = image.layers[0]!.digest.slice('sha256:'.length);
    expect(keys).toContain(`${berth.keyPrefix}:cache:link:/docker/registry/v2/repositories/${repo}/_layers/sha256/${hex}/link`);
  });

  invalidatedByEveryWrite(() => registry);
  collectingGarbageBehindBerth(() => registry);

  it('after FLUSHALL every image still serves, and a delete is still seen by every instance', async () => {
    const { berth, redis } = registry;
    const repo = uniqueRepo('flush');
    const image = await pushImage(berth.url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    expect(await redis!.command('FLUSHALL')).toBe('OK');
    await expectServed(berth, repo, 'v1', image);
    await deleteReference(berth.url, repo, 'v1');
    await expectManifestUnknown(berth, repo, 'v1');
  });

  it('with Redis gone the gateway still serves blobs from storage', async () => {
    const { berth, redis } = registry;
    const repo = uniqueRepo('outage');
    const image = await pushImage(berth.url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    await redis!.kill();
    try {
      for (const blob of [image.config, ...image.layers]) {
        expect((await getBlob(berth.url, repo, blob.digest)).status).toBe(200);
        expect((await http(berth.url).head(`/v2/${repo}/blobs/${blob.digest}`)).status).toBe(200);
      }
    } finally {
      await redis!.restart();
    }
  });
});

describe('caches: all in one process, storage.cache.blobdescriptor: redis', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry('all-in-one', 'redis');
  });
  afterAll(async () => {
    await stopRegistry(registry);
  });

  it('with Redis gone every request is answered from storage, writes and deletes included', async () => {
    const { berth, redis } = registry;
    const repo = uniqueRepo('outage');
    const image = await pushImage(berth.url, repo, 'v1');
    await expectServed(berth, repo, 'v1', image);
    await redis!.kill();
    let pushedMeanwhile: PushedImage;
    try {
      await expectServed(berth, repo, 'v1', image);
      await expectServed(berth, repo, image.digest, image);
      pushedMeanwhile = await pushImage(berth.url, repo, 'v2');
      await expectServed(berth, repo, 'v2', pushedMeanwhile);
      await deleteReference(berth.url, repo, 'v1');
      await expectManifestUnknown(berth, repo, 'v1');
    } finally {
      await redis!.restart();
    }
    await expectManifestUnknown(berth, repo, 'v1');
    await expectServed(berth, repo, 'v2', pushedMeanwhile);
  });
});

describe('caches: all in one process, storage.cache.blobdescriptor: inmemory', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry('all-in-one', 'inmemory');
  });
  afterAll(async () => {
    await stopRegistry(registry);
  });

  invalidatedByEveryWrite(() => registry);
  collectingGarbageBehindBerth(() => registry);
});
