/**
 * What a repository's `link` files hold, remembered by their storage path: the blob a
 * `_layers/<alg>/<hex>/link` names (the repository has the blob, under this canonical digest)
 * and the manifest a `_manifests/tags/<tag>/current/link` names. `storage.cache.blobdescriptor`
 * turns it on (`inmemory`, `redis`); without it every read goes to storage.
 *
 * Storage stays the truth: only what storage said is cached (never "no such link"), whoever
 * writes or deletes a link invalidates its path afterwards, and an entry expires after
 * {@link LINK_CACHE_TTL_MS} so that a writer berth cannot see (the reference on the same
 * storage, its offline garbage collector) is noticed in bounded time.
 */
export interface LinkCache {
  /**
   * The link's content: cached, else `load()` from storage. What `load` read is remembered
   * only if no invalidation of `path` happened meanwhile (a write in between wins). A cache
   * that cannot answer (Redis away or slow) counts as a miss: it never fails the read.
   */
  read(path: string, load: () => Promise<string | undefined>): Promise<string | undefined>;
  /** Forgets `paths`, after the links were written or deleted in storage. Never throws. */
  invalidate(paths: readonly string[]): Promise<void>;
}

export const LINK_CACHE = Symbol('LINK_CACHE');

/** How long an entry stands without a write through berth: the bound on staleness against other writers. */
export const LINK_CACHE_TTL_MS = 5 * 60_000;

/** No cache: every read goes to storage (`storage.cache.blobdescriptor` unset). */
export const NO_LINK_CACHE: LinkCache = {
  read: (_path, load) => load(),
  invalidate: async () => {},
};
