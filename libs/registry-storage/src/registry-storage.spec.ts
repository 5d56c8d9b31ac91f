import { type Digest, digestOf } from '@berth/oci';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { pathFor } from './paths';
import { RegistryStorage } from './registry-storage';
import { lessPath } from './repository-walk';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const found: T[] = [];
  for await (const item of items) found.push(item);
  return found;
}

describe('lessPath', () => {
  it('orders component-wise, as the reference does', () => {
    expect(lessPath('a/b', 'a-b')).toBe(true);
    expect(lessPath('a', 'a/b')).toBe(true);
    expect(lessPath('a/b', 'a')).toBe(false);
    expect(lessPath('a', 'a')).toBe(false);
  });
});

describe('RegistryStorage', () => {
  let driver: StorageDriver;
  let storage: RegistryStorage;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    storage = new RegistryStorage(driver);
  });

  /** A blob in the store, linked into `repository`. */
  async function pushBlob(repository: string, content: string): Promise<Digest> {
    const digest = digestOf(content);
    await driver.putContent(pathFor({ kind: 'blobData', digest }), Buffer.from(content));
    await storage.linkedBlobs.link(repository, digest);
    return digest;
  }

  it('walks repositories in catalog order, nested ones included, from after a name', async () => {
    for (const name of ['z', 'a/0', 'a', 'a.b', 'a/b/c', 'a-b']) await pushBlob(name, name);
    // Only uploads: no repository for the catalog.
    await storage.uploads.writeStartedAt('uploads-only', '6f1c2b1e-5d55-4b0e-9a0e-1b2c3d4e5f60', '2024-01-01T00:00:00Z');
    expect(await collect(storage.repositories())).toEqual(['a', 'a/0', 'a/b/c', 'a-b', 'a.b', 'z']);
    expect(await collect(storage.repositories({ after: 'a/0' }))).toEqual(['a/b/c', 'a-b', 'a.b', 'z']);
    expect(await collect(storage.repositories({ after: 'zz' }))).toEqual([]);
    // Siblings listed ahead change nothing of the order.
    for (const ahead of [2, 3, 16]) {
      expect(await collect(storage.repositories({ ahead }))).toEqual(['a', 'a/0', 'a/b/c', 'a-b', 'a.b', 'z']);
      expect(await collect(storage.repositories({ after: 'a/0', ahead }))).toEqual(['a/b/c', 'a-b', 'a.b', 'z']);
    }
    expect(await collect(new RegistryStorage(createStorageDriver('inmemory', {})).repositories())).toEqual([]);
  });

  it('lists only as far as its consumer reads', async () => {
    for (const name of ['a', 'b', 'c', 'd']) await pushBlob(name, name);
    let listings = 0;
    const counting = Object.assign(Object.create(driver) as StorageDriver, {
      list: (path: string) => {
        listings += 1;
        return driver.list(path);
      },
    });
    for await (const name of new RegistryStorage(counting).repositories()) if (name === 'b') break;
    // The root, `a` and `b`: `c` and `d` were never listed.
    expect(listings).toBe(3);
    listings = 0;
    for await (const name of new RegistryStorage(counting).repositories({ ahead: 2 })) if (name === 'b') break;
    // One sibling ahead: `c` too.
    expect(listings).toBe(4);
  });

  it('walks the revisions whose link exists, and every blob of the store', async () => {
    const [one, two] = [await pushBlob('app', 'one'), await pushBlob('app', 'two')];
    await storage.revisions.link('app', one);
    await storage.revisions.link('app', two);
    expect(await storage.revisions.exists('app', one)).toBe(true);
    expect(await storage.revisions.unlink('app', two)).toBe(true);
    expect(await storage.revisions.unlink('app', two)).toBe(false);
    expect(await collect(storage.revisions.all('app'))).toEqual([one]);
    expect(await storage.revisions.linked('app', two)).toBe(false);
    expect((await collect(storage.blobs.all())).sort()).toEqual([one, two].sort());
  });

  it('knows a repository by its layers or its revisions', async () => {
    expect(await storage.repositoryExists('app')).toBe(false);
    await pushBlob('app', 'one');
    expect(await storage.repositoryExists('app')).toBe(true);
    await storage.revisions.link('manifests-only', digestOf('m'));
    expect(await storage.repositoryExists('manifests-only')).toBe(true);
  });
});
