/**
 * The meeting point of online garbage collection and the writes that make content referenced
 * (libs/garbage-collection's README, "Online collection"): every such write records the digests
 * it is about to reference before it checks storage for them, and a collector deletes only
 * digests it condemned, which no write recorded since its run's cutoff. The two sides' steps
 * run one at a time (a Lua script in Redis when services run apart, one process's memory in
 * the all-in-one), so for each digest either the write is recorded first and the collector
 * spares it, or the collector condemned it first and the write is refused.
 *
 * Times are the fence's own clock (Redis's `TIME` across a cluster), in milliseconds: never a
 * caller's, so that processes with skewed clocks agree.
 *
 * Holds no truth: losing it (Redis flushed or restarted) is answered `unknown` to writers, who
 * then ask storage whether a run is under way, and makes collection start over.
 */
export interface CollectionFence {
  /**
   * A writer, before it checks storage for `digests` and references them. `recorded`: go on;
   * `condemned`: a run is deleting one of them, refuse the write (the client retries);
   * `unknown`: the fence lost its records, or a run lost its lease and may still be deleting:
   * ask storage whether a run is under way, and call {@link settle} if none is.
   */
  touch(digests: readonly string[]): Promise<'recorded' | 'condemned' | 'unknown'>;
  /** After an `unknown` touch, once storage showed no run under way: records restart from now, and a lapsed run's condemnations go. */
  settle(): Promise<void>;

  /**
   * A collector: takes the lease for `runId` for `ttlMs`, and prunes records older than
   * `windowMs` (no later run looks at them). `since`: when the records began without a gap.
   */
  acquire(runId: string, ttlMs: number, windowMs: number): Promise<{ acquired: false } | { acquired: true; now: number; since: number }>;
  /** Extends the lease; false when `runId` no longer holds it (expired, taken, Redis lost it). */
  renew(runId: string, ttlMs: number): Promise<boolean>;
  /** Drops what an earlier run condemned, once storage showed that no run is still deleting. False when the lease is lost. */
  begin(runId: string): Promise<boolean>;
  /**
   * Condemns each of `digests` that no write recorded at or after `cutoff`, and returns those:
   * from now until {@link release}, writes touching them are refused. Throws
   * {@link LeaseLostError} when `runId` no longer holds the lease.
   */
  condemn(runId: string, digests: readonly string[], cutoff: number): Promise<string[]>;
  /** Ends the run: its condemnations and its lease go. */
  release(runId: string): Promise<void>;
}

export const COLLECTION_FENCE = Symbol('COLLECTION_FENCE');

/** A collector's lease lapsed or was taken (or the fence lost it): it must delete nothing more. */
export class LeaseLostError extends Error {
  constructor(runId: string) {
    super(`garbage collection run ${runId} lost its lease: it deletes nothing more`);
    this.name = 'LeaseLostError';
  }
}
