import type { LinkCache } from '@berth/contracts';
import type { Digest } from '@berth/oci';
import { pathExists, type StorageDriver, textIfExists } from '@berth/storage-driver';
import { digestsIn } from './digest-dirs';
import { baseName, deleteIfExists, listIfExists, mapBounded, PARALLEL_READS } from './listing';
import { pathFor } from './paths';

/**
 * The tags of one repository, stored as the reference's tagstore.go stores them: a tag is the
 * directory `_manifests/tags/<tag>`, its `current/link` names the manifest, and
 * `index/<algorithm>/<hex>/link` remembers every manifest it has named. Current links are read
 * through the link cache; every tag written or removed here is invalidated.
 */
export class TagStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly links: LinkCache,
  ) {}

  /**
   * What `tag` names now (its link's text, unchecked: storage may hold anything), or `undefined`.
   * Cached safely: every tag write and delete invalidates it, and garbage collection never moves a tag.
   */
  async current(repository: string, tag: string): Promise<string | undefined> {
    const path = pathFor({ kind: 'manifestTagCurrentLink', repository, tag });
    return this.links.read(path, () => textIfExists(this.driver, path));
  }

  /**
   * Points `tag` at `digest`: the index link first, then `current/link` in one write, so a
   * reader sees the old manifest or the new one, never a tag without its index entry.
   */
  async tag(repository: string, tag: string, digest: Digest): Promise<void> {
    const link = Buffer.from(digest);
    const current = pathFor({ kind: 'manifestTagCurrentLink', repository, tag });
    await this.driver.putContent(pathFor({ kind: 'manifestTagIndexEntryLink', repository, tag, digest }), link);
    await this.driver.putContent(current, link);
    await this.links.invalidate([current]);
  }

  /** Removes `tag` (its whole directory, as `Untag` does); `false` when there was none. */
  async untag(repository: string, tag: string): Promise<boolean> {
    const current = pathFor({ kind: 'manifestTagCurrentLink', repository, tag });
    if (!(await pathExists(this.driver, current))) return false;
    try {
      // Deleted by a concurrent request in between: the tag is gone either way.
      await deleteIfExists(this.driver, pathFor({ kind: 'manifestTagDir', repository, tag }));
    } finally {
      await this.links.invalidate([current]);
    }
    return true;
  }

  /** Every tag in byte order; `undefined` when the repository has no tags directory. */
  async list(repository: string): Promise<string[] | undefined> {
    return (await listIfExists(this.driver, pathFor({ kind: 'manifestTagsDir', repository })))?.map(baseName);
  }

  /** The tags whose current link names `digest` (tagstore.go `Lookup`), read from storage: deletes act on the truth. */
  async pointingAt(repository: string, digest: Digest): Promise<string[]> {
    const tags = (await this.list(repository)) ?? [];
    const targets = await mapBounded(tags, PARALLEL_READS, (tag) =>
      textIfExists(this.driver, pathFor({ kind: 'manifestTagCurrentLink', repository, tag })),
    );
    return tags.filter((_, index) => targets[index] === digest);
  }

  /** Forgets that `tag` once named `digest` (garbage collection removing that manifest); `false` when it had not. */
  async removeIndexEntry(repository: string, tag: string, digest: Digest): Promise<boolean> {
    const entry = pathFor({ kind: 'manifestTagIndexEntryLink', repository, tag, digest });
    return deleteIfExists(this.driver, entry.slice(0, -'/link'.length));
  }

  /** Every manifest `tag` has named, from its index, one algorithm directory at a time (garbage collection's mark). */
  async *history(repository: string, tag: string): AsyncGenerator<Digest> {
    for await (const digests of digestsIn(this.driver, pathFor({ kind: 'manifestTagIndexDir', repository, tag }))) {
      yield* digests;
    }
  }
}
