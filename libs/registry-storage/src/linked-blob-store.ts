import type { Readable } from 'node:stream';
import type { LinkCache } from '@berth/contracts';
import { checkDigest, type Digest } from '@berth/oci';
import { PathNotFoundError, type StorageDriver, textIfExists } from '@berth/storage-driver';
import { digestsIn } from './digest-dirs';
import { deleteIfExists } from './listing';
import { pathFor } from './paths';

/** A blob as a repository sees it: linked there, its bytes in the blob store. */
export interface LinkedBlob {
  /** The canonical digest the bytes are stored under (sha256, also for a blob linked by sha512). */
  digest: Digest;
  size: number;
  /** The bytes from `offset`; `undefined` when they were removed since the stat (the link is then forgotten by the cache). */
  reader(offset: number): Promise<Readable | undefined>;
  /** A URL the client may fetch the bytes from directly, where the driver can sign one. */
  redirectUrl(method: 'GET' | 'HEAD'): Promise<string | undefined>;
}

/**
 * The blobs of one repository, `_layers/<algorithm>/<hex>/link` (Distribution's
 * linkedblobstore.go): a link holds the canonical digest of bytes in the blob store. Link
 * reads go through the link cache; every link written or removed here is invalidated.
 */
export class LinkedBlobStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly links: LinkCache,
  ) {}

  /**
   * The blob, when `repository` links `digest` and its bytes are stored (`linkedBlobStatter.Stat`).
   * A cached link is confirmed by the stat of the data, which every answer needs anyway: an
   * offline garbage collection that removed the data cannot leave a stale "exists" behind
   * (distribution#4269, where HEAD said "exists" and pushes skipped the layer). A link whose
   * content is no digest links nothing.
   */
  async stat(repository: string, digest: Digest): Promise<LinkedBlob | undefined> {
    const linkPath = pathFor({ kind: 'layerLink', repository, digest });
    const linked = await this.links.read(linkPath, () => textIfExists(this.driver, linkPath));
    if (linked === undefined) return undefined;
    const target = checkDigest(linked);
    if (!target.ok) return undefined;
    const dataPath = pathFor({ kind: 'blobData', digest: target.digest });
    let size: number;
    try {
      size = (await this.driver.stat(dataPath)).size;
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) throw error;
      await this.links.invalidate([linkPath]);
      return undefined;
    }
    return {
      digest: target.digest,
      size,
      reader: async (offset) => {
        try {
          return await this.driver.reader(dataPath, offset);
        } catch (error) {
          if (!(error instanceof PathNotFoundError)) throw error;
          // Removed since the stat: a garbage collector at work.
          await this.links.invalidate([linkPath]);
          return undefined;
        }
      },
      redirectUrl: (method) => this.driver.redirectUrl(dataPath, method),
    };
  }

  /** Links bytes stored under `canonical` into `repository` (`linkBlob`); also under `requested` when that is another algorithm. */
  async link(repository: string, canonical: Digest, requested: Digest = canonical): Promise<void> {
    const paths = [pathFor({ kind: 'layerLink', repository, digest: canonical })];
    if (requested !== canonical) paths.push(pathFor({ kind: 'layerLink', repository, digest: requested }));
    const target = Buffer.from(canonical);
    for (const path of paths) await this.driver.putContent(path, target);
    await this.links.invalidate(paths);
  }

  /** Removes the link (the bytes stay for garbage collection); `false` when `repository` had no such blob. */
  async unlink(repository: string, digest: Digest): Promise<boolean> {
    if ((await this.stat(repository, digest)) === undefined) return false;
    const linkPath = pathFor({ kind: 'layerLink', repository, digest });
    try {
      return await deleteIfExists(this.driver, linkPath);
    } finally {
      await this.links.invalidate([linkPath]);
    }
  }

  /**
   * Removes the link (its directory) whatever it names, its data stored or not (garbage collection's sweep,
   * `Vacuum.RemoveLayer`), and invalidates it; `false` when it was not there.
   */
  async removeLink(repository: string, digest: Digest): Promise<boolean> {
    const linkPath = pathFor({ kind: 'layerLink', repository, digest });
    try {
      // The directory, not only the file: a directory left behind would be listed by `all()` again.
      return await deleteIfExists(this.driver, linkPath.slice(0, -'/link'.length));
    } finally {
      await this.links.invalidate([linkPath]);
    }
  }

  /** What the link of `digest` in `repository` names (not through the cache), or `undefined`. */
  async target(repository: string, digest: Digest): Promise<Digest | undefined> {
    const linked = await textIfExists(this.driver, pathFor({ kind: 'layerLink', repository, digest }));
    const checked = linked === undefined ? undefined : checkDigest(linked);
    return checked?.ok ? checked.digest : undefined;
  }

  /** Every digest `repository` has a link directory for, one algorithm at a time (garbage collection's mark). */
  async *all(repository: string): AsyncGenerator<Digest> {
    for await (const digests of digestsIn(this.driver, pathFor({ kind: 'layersDir', repository }))) yield* digests;
  }
}
