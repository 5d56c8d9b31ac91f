import { text } from 'node:stream/consumers';
import { InProcessLinkCache } from '@berth/bus';
import { type Digest, digestOf } from '@berth/oci';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { LinkedBlobStore } from './linked-blob-store';
import { pathFor } from './paths';

const bytes = Buffer.from('layer bytes');
const digest = digestOf(bytes);

describe('LinkedBlobStore (with the link cache)', () => {
  let driver: StorageDriver;
  let blobs: LinkedBlobStore;

  beforeEach(async () => {
    driver = createStorageDriver('inmemory', {});
    blobs = new LinkedBlobStore(driver, new InProcessLinkCache(100));
    await driver.putContent(pathFor({ kind: 'blobData', digest }), bytes);
  });

  async function all(repository: string): Promise<Digest[]> {
    const found: Digest[] = [];
    for await (const linked of blobs.all(repository)) found.push(linked);
    return found;
  }

  it('links a blob as the reference does, and stats and reads it through the link', async () => {
    expect(await blobs.stat('app', digest)).toBeUndefined();
    await blobs.link('app', digest);
    expect((await driver.getContent(pathFor({ kind: 'layerLink', repository: 'app', digest }))).toString()).toBe(digest);
    const blob = await blobs.stat('app', digest);
    expect(blob).toMatchObject({ digest, size: bytes.length });
    expect(await text((await blob!.reader(6))!)).toBe('bytes');
    expect(await blob!.redirectUrl('GET')).toBeUndefined();
    expect(await blobs.stat('other', digest)).toBeUndefined();
    expect(await all('app')).toEqual([digest]);
  });

  it('links a sha512 push under both digests, each naming the canonical sha256', async () => {
    const sha512 = digestOf(bytes, 'sha512');
    await blobs.link('app', digest, sha512);
    expect((await driver.getContent(pathFor({ kind: 'layerLink', repository: 'app', digest: sha512 }))).toString()).toBe(digest);
    expect(await blobs.stat('app', sha512)).toMatchObject({ digest, size: bytes.length });
    expect(await all('app')).toEqual([digest, sha512]);
  });

  it('counts a cached link whose bytes are gone as no blob, and forgets it', async () => {
    await blobs.link('app', digest);
    expect(await blobs.stat('app', digest)).toBeDefined();
    // An offline garbage collection: link, then bytes, removed behind berth's back.
    await driver.delete(pathFor({ kind: 'layerLink', repository: 'app', digest }));
    const cached = await blobs.stat('app', digest);
    expect(cached).toBeDefined();
    await driver.delete(pathFor({ kind: 'blobData', digest }));
    expect(await cached!.reader(0)).toBeUndefined();
    expect(await blobs.stat('app', digest)).toBeUndefined();
    // Bytes back, link still gone: the cache forgot the link, so storage answers.
    await driver.putContent(pathFor({ kind: 'blobData', digest }), bytes);
    expect(await blobs.stat('app', digest)).toBeUndefined();
  });

  it('unlinks a blob once, keeping its bytes', async () => {
    await blobs.link('app', digest);
    expect(await blobs.unlink('app', digest)).toBe(true);
    expect(await blobs.stat('app', digest)).toBeUndefined();
    expect(await blobs.unlink('app', digest)).toBe(false);
    expect((await driver.getContent(pathFor({ kind: 'blobData', digest }))).equals(bytes)).toBe(true);
  });

  it('takes a link whose content is no digest for no link', async () => {
    await driver.putContent(pathFor({ kind: 'layerLink', repository: 'app', digest }), Buffer.from('garbage'));
    expect(await blobs.stat('app', digest)).toBeUndefined();
  });
});
