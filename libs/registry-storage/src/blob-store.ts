import type { Readable } from 'node:stream';
import { checkDigest, type Digest } from '@berth/oci';
import { PathNotFoundError, pathExists, type StorageDriver } from '@berth/storage-driver';
import { baseName, deleteIfExists, listOrEmpty } from './listing';
import { pathFor } from './paths';

/**
 * The registry-wide blob store, `blobs/<algorithm>/<2>/<hex>/data`, content-addressed
 * (Distribution's blobstore.go). Whether a repository may see a blob is the linked blob
 * store's question; this one knows only bytes by digest.
 */
export class BlobStore {
  constructor(private readonly driver: StorageDriver) {}

  async exists(digest: Digest): Promise<boolean> {
    return pathExists(this.driver, pathFor({ kind: 'blobData', digest }));
  }

  /** The bytes of a small blob (a manifest), or `undefined` when it is not stored. */
  async get(digest: Digest): Promise<Buffer | undefined> {
    try {
      return await this.driver.getContent(pathFor({ kind: 'blobData', digest }));
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /** Stores small content (a manifest) under its digest, unless it is there: the same digest is the same bytes. */
  async putIfAbsent(digest: Digest, content: Buffer): Promise<void> {
    const data = pathFor({ kind: 'blobData', digest });
    if (!(await pathExists(this.driver, data))) await this.driver.putContent(data, content);
  }

  /** The bytes from `offset`, or `undefined` when the blob is not (or no longer) stored. */
  async reader(digest: Digest, offset = 0): Promise<Readable | undefined> {
    try {
      return await this.driver.reader(pathFor({ kind: 'blobData', digest }), offset);
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /** A URL the client may fetch the bytes from directly, where the driver can sign one. */
  async redirectUrl(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.driver.redirectUrl(pathFor({ kind: 'blobData', digest }), method);
  }

  /** Removes the blob's directory (garbage collection's sweep, `Vacuum.RemoveBlob`); `false` when it was not there. */
  async remove(digest: Digest): Promise<boolean> {
    return deleteIfExists(this.driver, pathFor({ kind: 'blobDir', digest }));
  }

  /** The size of the stored bytes, or `undefined` when the blob is not stored. */
  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await this.driver.stat(pathFor({ kind: 'blobData', digest }))).size;
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Every blob in the store, one `<2>` directory's digests at a time in store order, with up to
   * `ahead` directory listings in flight: a sweep over a remote store waits on one round trip
   * per directory, not 256 in a row. Memory holds `ahead` listings.
   */
  async *byDirectory(ahead = 1): AsyncGenerator<Digest[]> {
    for (const algorithmDir of await listOrEmpty(this.driver, pathFor({ kind: 'blobsRoot' }))) {
      const algorithm = baseName(algorithmDir);
      const prefixDirs = await listOrEmpty(this.driver, algorithmDir);
      const pending: Promise<string[]>[] = [];
      let next = 0;
      const fill = (): void => {
        while (pending.length < Math.max(1, ahead) && next < prefixDirs.length) {
          const listing = listOrEmpty(this.driver, prefixDirs[next++] as string);
          // Awaited below in turn; a consumer that stops early leaves no unhandled rejection.
          listing.catch(() => undefined);
          pending.push(listing);
        }
      };
      fill();
      for (let listing = pending.shift(); listing !== undefined; listing = pending.shift()) {
        const hexDirs = await listing;
        fill();
        const digests: Digest[] = [];
        for (const hexDir of hexDirs) {
          const checked = checkDigest(`${algorithm}:${baseName(hexDir)}`);
          if (checked.ok) digests.push(checked.digest);
        }
        yield digests;
      }
    }
  }

  /**
   * Every blob in the store, one `<2>` directory listed at a time (garbage collection's sweep):
   * streamed, never the whole store in memory.
   */
  async *all(): AsyncGenerator<Digest> {
    for (const algorithmDir of await listOrEmpty(this.driver, pathFor({ kind: 'blobsRoot' }))) {
      const algorithm = baseName(algorithmDir);
      for (const prefixDir of await listOrEmpty(this.driver, algorithmDir)) {
        for (const hexDir of await listOrEmpty(this.driver, prefixDir)) {
          const checked = checkDigest(`${algorithm}:${baseName(hexDir)}`);
          if (checked.ok) yield checked.digest;
        }
      }
    }
  }
}
