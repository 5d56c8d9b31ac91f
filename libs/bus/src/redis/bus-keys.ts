/**
 * Every Redis key berth uses, in one place. `prefix` is `berth.bus.keyprefix`.
 * WARNING: these are wire names shared by every instance of a cluster; renaming one breaks
 * mixed-version clusters.
 */
export class BusKeys {
  constructor(readonly prefix: string) {}

  /**
   * The stream of pending requests of one message pattern: the queue its replicas compete on
   * through one consumer group. (Until issue 15, a list at `:rpc:`; the new name keeps the two
   * apart rather than fail with WRONGTYPE in a mixed-version cluster.)
   */
  requests(pattern: string): string {
    return `${this.prefix}:requests:${pattern}`;
  }

  /** The channel on which one client receives its replies. */
  replies(clientId: string): string {
    return `${this.prefix}:reply:${clientId}`;
  }

  /** The live instances of one service (a sorted set scored by when each announcement expires). */
  instances(service: string): string {
    return `${this.prefix}:instances:${service}`;
  }

  /** The upload instance that took an upload session's last chunk. */
  uploadAffinity(uploadId: string): string {
    return `${this.prefix}:upload:affinity:${uploadId}`;
  }

  /** The health service's latest report. */
  health(): string {
    return `${this.prefix}:health`;
  }

  /** The cached content of the storage `link` file at `path` (a hash: value and generation). */
  cachedLink(path: string): string {
    return `${this.prefix}:cache:link:${path}`;
  }

  /** What BullMQ puts before a queue's own keys (its `prefix` option): the repeatable jobs' queues. */
  jobQueues(): string {
    return `${this.prefix}:jobs`;
  }

  /** Failed logins of one user or client address (its hash), within the window (`berth.failedlogins`). */
  failedLogins(hashedKey: string): string {
    return `${this.prefix}:auth:failures:${hashedKey}`;
  }

  /** Online garbage collection's lease: the id of the run that may delete (libs/garbage-collection's README). */
  collectionLease(): string {
    return `${this.prefix}:gc:lease`;
  }

  /** The digests the running collection may delete: writes touching them are refused. */
  collectionCondemned(): string {
    return `${this.prefix}:gc:condemned`;
  }

  /** Digests writes referenced, scored by when (Redis's clock): a collection spares those after its cutoff. */
  collectionTouched(): string {
    return `${this.prefix}:gc:touched`;
  }

  /** Since when `collectionTouched` has recorded every write; missing when Redis lost the records. */
  collectionRecordsSince(): string {
    return `${this.prefix}:gc:since`;
  }
}
