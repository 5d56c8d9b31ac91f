import { Inject, Injectable, Optional } from '@nestjs/common';
import { LINK_CACHE, type LinkCache, NO_LINK_CACHE } from '@berth/contracts';
import { type Digest, OciError, pathFor } from '@berth/oci';
import { PathNotFoundError, pathExists, STORAGE_DRIVER, type StorageDriver, textIfExists } from '@berth/storage-driver';
import { baseName, mapBounded } from './storage-reads';

const PARALLEL_READS = 16;

/**
 * A repository's tags, stored as the reference's tagstore.go stores them: a tag is the
 * directory `_manifests/tags/<tag>`, its `current/link` names the manifest, and
 * `index/<alg>/<hex>/link` remembers every manifest it has named.
 */
@Injectable()
export class TagIndex {
  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    @Optional() @Inject(LINK_CACHE) private readonly links: LinkCache = NO_LINK_CACHE,
  ) {}

  /**
   * One page of tags in lexical order after `last`. A repository without a tags directory is
   * unknown (NAME_UNKNOWN), as in the reference; one whose tags were all deleted lists none.
   */
  async list(
    repository: string,
    page: { n?: number; last?: string },
  ): Promise<{ name: string; tags: string[]; more: boolean }> {
    const all = await this.allTags(repository);
    if (all === undefined) throw new OciError('NAME_UNKNOWN', { name: repository });
    const after = page.last === undefined ? all : all.filter((tag) => tag > page.last!);
    const n = page.n ?? after.length;
    return { name: repository, tags: after.slice(0, n), more: after.length > n };
  }

  /** Every tag, sorted; `undefined` when the repository has no tags directory. */
  async allTags(repository: string): Promise<string[] | undefined> {
    try {
      const children = await this.driver.list(pathFor({ kind: 'manifestTagsDir', repository }));
      return children.map(baseName).sort(compareBytes);
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The digest `tag` names now, or `undefined`; through the link cache: every tag write and
   * delete below invalidates it, and garbage collection never moves a tag.
   */
  async resolve(repository: string, tag: string): Promise<string | undefined> {
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
      await this.driver.delete(pathFor({ kind: 'manifestTagDir', repository, tag }));
    } catch (error) {
      // Deleted by a concurrent request in between: the tag is gone either way.
      if (!(error instanceof PathNotFoundError)) throw error;
    } finally {
      await this.links.invalidate([current]);
    }
    return true;
  }

  /** The tags whose current link names `digest` (tagstore.go `Lookup`), read from storage: deletes act on the truth. */
  async tagsPointingAt(repository: string, digest: string): Promise<string[]> {
    const tags = (await this.allTags(repository)) ?? [];
    const targets = await mapBounded(tags, PARALLEL_READS, (tag) =>
      textIfExists(this.driver, pathFor({ kind: 'manifestTagCurrentLink', repository, tag })),
    );
    return tags.filter((_, index) => targets[index] === digest);
  }
}

/** Byte order, which for the ASCII of tag names is the reference's `sort.Strings`. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
