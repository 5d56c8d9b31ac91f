import { type Digest } from '@berth/oci';
import { pathFor, RegistryStorage } from '@berth/registry-storage';
import { ReferenceGuard } from '@berth/garbage-collection';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  dockerManifest,
  media,
  ociIndex,
  ociManifest,
  pushBlob,
  pushImageBlobs,
  sha256,
  testConfig,
} from '../test/manifest-fixtures';
import { InProcessCollectionFence, InProcessLinkCache } from '@berth/bus';
import { ManifestReader } from './manifest-reader.service';
import { ManifestStore } from './manifest-store.service';

describe('ManifestStore', () => {
  let driver: StorageDriver;
  let store: ManifestStore;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    const storage = new RegistryStorage(driver);
    store = new ManifestStore(storage, testConfig(), new ManifestReader(storage), new ReferenceGuard(undefined, storage.driver));
  });

  const put = (repository: string, reference: string, content: Buffer, contentType: string) =>
    store.put({ repository, reference, contentType, content: content.toString('base64') });

  async function exists(path: string): Promise<boolean> {
    return driver.stat(path).then(
      () => true,
      () => false,
    );
  }

  it('writes the blob, the revision link and the tag links, each holding the digest', async () => {
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'docker');
    const content = dockerManifest(config, layers);
    const digest = sha256(content);
    expect(await put('app', 'v1', content, media.dockerManifest)).toEqual({ digest });
    expect((await driver.getContent(pathFor({ kind: 'blobData', digest }))).equals(content)).toBe(true);
    for (const path of [
      pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest }),
      pathFor({ kind: 'manifestTagIndexEntryLink', repository: 'app', tag: 'v1', digest }),
      pathFor({ kind: 'manifestTagCurrentLink', repository: 'app', tag: 'v1' }),
    ]) {
      expect((await driver.getContent(path)).toString()).toBe(digest);
    }
  });

  it('with online collection, refuses (503) a push referencing a blob a run condemned, writing nothing; goes through after the run', async () => {
    const fence = new InProcessCollectionFence();
    const storage = new RegistryStorage(driver);
    const guarded = new ManifestStore(storage, testConfig(), new ManifestReader(storage), new ReferenceGuard(fence, driver));
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'oci');
    const content = ociManifest(config, layers);
    const lease = await fence.acquire('run', 30_000, 3_600_000);
    if (!lease.acquired) throw new Error('no lease');
    await fence.begin('run');
    await fence.condemn('run', [layers[0]!.digest], lease.now + 1);
    const push = () => guarded.put({ repository: 'app', reference: 'v1', contentType: media.ociManifest, content: content.toString('base64') });
    await expect(push()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await exists(pathFor({ kind: 'manifestRevisionsDir', repository: 'app' }))).toBe(false);
    await fence.release('run');
    expect(await push()).toEqual({ digest: sha256(content) });
  });

  it('writes no tag for a push by digest, and nothing at all for a refused push', async () => {
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'oci');
    const content = ociManifest(config, layers);
    await put('app', sha256(content), content, media.ociManifest);
    expect(await exists(pathFor({ kind: 'manifestTagsDir', repository: 'app' }))).toBe(false);

    const missing = { mediaType: media.ociLayer, digest: sha256('absent'), size: 6 };
    const refused = ociManifest(config, [...layers, missing]);
    await expect(put('app', 'v1', refused, media.ociManifest)).rejects.toMatchObject({
      code: 'MANIFEST_BLOB_UNKNOWN',
      detail: { digest: missing.digest },
    });
    expect(await exists(pathFor({ kind: 'blobData', digest: sha256(refused) }))).toBe(false);
    expect(await exists(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest: sha256(refused) }))).toBe(false);
    expect(await exists(pathFor({ kind: 'manifestTagsDir', repository: 'app' }))).toBe(false);
  });

  it('counts a layer link whose blob bytes are gone as missing', async () => {
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'oci');
    await driver.delete(pathFor({ kind: 'blobData', digest: config.digest }));
    await expect(put('app', 'v1', ociManifest(config, layers), media.ociManifest)).rejects.toMatchObject({
      code: 'MANIFEST_BLOB_UNKNOWN',
    });
  });

  it('needs an index child as a revision of this repository, not only as a blob', async () => {
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'oci');
    const child = ociManifest(config, layers);
    // The child's bytes as a plain blob: linked as a layer, yet no revision.
    await pushBlob(driver, 'app', child, media.ociManifest);
    const index = ociIndex([{ mediaType: media.ociManifest, digest: sha256(child), size: child.length }]);
    await expect(put('app', 'multi', index, media.ociIndex)).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
    await put('app', sha256(child), child, media.ociManifest);
    expect(await put('app', 'multi', index, media.ociIndex)).toEqual({ digest: sha256(index) });
  });

  it('stores a manifest pushed by a sha512 digest under that digest, checked in its own algorithm', async () => {
    const { config, layers } = await pushImageBlobs(driver, 'app', 'one', 'oci');
    const content = ociManifest(config, layers);
    const { createHash } = await import('node:crypto');
    const sha512 = `sha512:${createHash('sha512').update(content).digest('hex')}` as Digest;
    expect(await put('app', sha512, content, media.ociManifest)).toEqual({ digest: sha512 });
    expect(await exists(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest: sha512 }))).toBe(true);
    const got = await store.get({ repository: 'app', reference: sha512, withContent: true });
    expect(Buffer.from(got.content ?? '', 'base64')).toEqual(content);
    const wrong = `sha512:${'0'.repeat(128)}`;
    await expect(put('app', wrong, content, media.ociManifest)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('serves a schema 1 manifest the reference stored, with its media type', async () => {
    const signed = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'app', fsLayers: [], signatures: [{}] }));
    const digest = sha256(signed);
    await pushBlob(driver, 'app', 'layer', media.dockerLayer);
    await driver.putContent(pathFor({ kind: 'blobData', digest }), signed);
    await driver.putContent(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest }), Buffer.from(digest));
    const got = await store.get({ repository: 'app', reference: digest, withContent: false });
    const mediaType = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
    expect(got).toEqual({ digest, mediaType, size: signed.length });
  });

  it('refuses a base64 body over the limit before decoding it', async () => {
    const text = 'A'.repeat(Math.ceil((4 * 1024 * 1024) / 3) * 4 + 4);
    const request = { repository: 'app', reference: 'v1', contentType: media.ociManifest, content: text };
    await expect(store.put(request)).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      status: 413,
    });
  });
});

describe('ManifestStore with a link cache (storage.cache.blobdescriptor)', () => {
  let driver: StorageDriver;
  let store: ManifestStore;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    const storage = new RegistryStorage(driver, new InProcessLinkCache(100));
    store = new ManifestStore(storage, testConfig(), new ManifestReader(storage), new ReferenceGuard(undefined, storage.driver));
  });

  async function pushImage(tag: string, variant: string): Promise<string> {
    const { config, layers } = await pushImageBlobs(driver, 'app', variant, 'oci');
    const content = ociManifest(config, layers);
    await store.put({ repository: 'app', reference: tag, contentType: media.ociManifest, content: content.toString('base64') });
    return sha256(content);
  }

  const get = (reference: string, withContent = true) => store.get({ repository: 'app', reference, withContent });

  it('follows a tag that moves, and forgets one that is deleted', async () => {
    const first = await pushImage('v1', 'one');
    expect((await get('v1')).digest).toBe(first);
    const second = await pushImage('v1', 'two');
    expect((await get('v1')).digest).toBe(second);
    expect((await get('v1', false)).digest).toBe(second);
    await store.delete({ repository: 'app', reference: 'v1' });
    await expect(get('v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await expect(get('v1', false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('answers MANIFEST_UNKNOWN for a deleted manifest whose bytes it kept, by digest and by its former tag', async () => {
    const digest = await pushImage('v1', 'one');
    expect((await get(digest)).content).toBeDefined();
    await store.delete({ repository: 'app', reference: digest });
    for (const reference of [digest, 'v1']) {
      await expect(get(reference)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
      await expect(get(reference, false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    }
  });

  it('answers MANIFEST_UNKNOWN once an offline garbage collection removed the manifest (revision link, then bytes)', async () => {
    const digest = await pushImage('v1', 'one');
    // Untagged, as `garbage-collect --delete-untagged` finds it; still served by digest, from the cache.
    await store.delete({ repository: 'app', reference: 'v1' });
    expect((await get(digest)).digest).toBe(digest);
    expect((await get(digest, false)).digest).toBe(digest);
    await driver.delete(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest }));
    await driver.delete(pathFor({ kind: 'blobData', digest }));
    await expect(get(digest)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await expect(get(digest, false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });
});

describe('ManifestStore by tag, no cache: what another process changes is seen at the next read', () => {
  let driver: StorageDriver;
  let store: ManifestStore;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    const storage = new RegistryStorage(driver);
    store = new ManifestStore(storage, testConfig(), new ManifestReader(storage), new ReferenceGuard(undefined, storage.driver));
  });

  async function pushImage(tag: string, variant: string): Promise<string> {
    const { config, layers } = await pushImageBlobs(driver, 'app', variant, 'oci');
    const content = ociManifest(config, layers);
    await store.put({ repository: 'app', reference: tag, contentType: media.ociManifest, content: content.toString('base64') });
    return sha256(content);
  }

  const get = (reference: string, withContent = true) => store.get({ repository: 'app', reference, withContent });

  it('answers by tag only for a revision link there now: a guess from the last read never answers on its own', async () => {
    const first = await pushImage('v1', 'one');
    expect((await get('v1')).digest).toBe(first);
    expect((await get('v1', false)).digest).toBe(first);
    // Another process deleted it and has not untagged yet (a delete removes the revision link first).
    await driver.delete(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest: first }));
    await expect(get('v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await expect(get('v1', false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    // Linked again (pushed again by another process): found again.
    await driver.putContent(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest: first }), Buffer.from(first));
    expect((await get('v1', false)).digest).toBe(first);
    // The tag moved behind this process's back: the new digest, never the guessed one.
    const second = await pushImage('v2', 'two');
    await driver.putContent(pathFor({ kind: 'manifestTagCurrentLink', repository: 'app', tag: 'v1' }), Buffer.from(second));
    expect((await get('v1', false)).digest).toBe(second);
    expect((await get('v1')).digest).toBe(second);
    // Untagged behind its back: unknown, whatever it guessed.
    await driver.delete(pathFor({ kind: 'manifestTagDir', repository: 'app', tag: 'v1' }));
    await expect(get('v1', false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });
});
