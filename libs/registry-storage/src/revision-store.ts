import type { Digest } from '@berth/oci';
import { PathNotFoundError, pathExists, type StorageDriver, textIfExists } from '@berth/storage-driver';
import { digestsIn } from './digest-dirs';
import { deleteIfExists, mapBounded, PARALLEL_READS } from './listing';
import { pathFor } from './paths';

/**
 * The manifests of one repository, `_manifests/revisions/<algorithm>/<hex>/link`
 * (Distribution's manifeststore.go over a linked blob store): the bytes are a blob, the
 * revision link makes them a manifest of the repository. Never cached: the revision link is
 * what a delete, and an offline garbage collection, removes first.
 */
export class RevisionStore {
  constructor(private readonly driver: StorageDriver) {}

  /** The revision link's presence alone (its content is the digest it sits under). */
  async linked(repository: string, digest: Digest): Promise<boolean> {
    try {
      return !(await this.driver.stat(pathFor({ kind: 'manifestRevisionLink', repository, digest }))).isDir;
    } catch (error) {
      if (error instanceof PathNotFoundError) return false;
      throw error;
    }
  }

  /** Linked in the repository, and its bytes still in the blob store. */
  async exists(repository: string, digest: Digest): Promise<boolean> {
    const linked = await textIfExists(this.driver, pathFor({ kind: 'manifestRevisionLink', repository, digest }));
    return linked !== undefined && (await pathExists(this.driver, pathFor({ kind: 'blobData', digest })));
  }

  async link(repository: string, digest: Digest): Promise<void> {
    await this.driver.putContent(pathFor({ kind: 'manifestRevisionLink', repository, digest }), Buffer.from(digest));
  }

  /** Removes the revision link only (the reference leaves the directory; the bytes stay for GC). `false` when there was none. */
  async unlink(repository: string, digest: Digest): Promise<boolean> {
    return deleteIfExists(this.driver, pathFor({ kind: 'manifestRevisionLink', repository, digest }));
  }

  /** Removes the revision's whole directory (garbage collection's sweep, `Vacuum.RemoveManifest`); `false` when it was not there. */
  async remove(repository: string, digest: Digest): Promise<boolean> {
    return deleteIfExists(this.driver, pathFor({ kind: 'manifestRevisionDir', repository, digest }));
  }

  /**
   * Every revision of `repository` whose link exists: a deleted revision leaves its directory
   * behind, so the link itself is what counts. Streamed one algorithm directory at a time,
   * its links read {@link PARALLEL_READS} at a time.
   */
  async *all(repository: string): AsyncGenerator<Digest> {
    for await (const candidates of digestsIn(this.driver, pathFor({ kind: 'manifestRevisionsDir', repository }))) {
      const linked = await mapBounded(candidates, PARALLEL_READS, (digest) => this.linked(repository, digest));
      yield* candidates.filter((_, index) => linked[index]);
    }
  }
}
