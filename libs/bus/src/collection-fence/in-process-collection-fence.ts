import { type CollectionFence, LeaseLostError } from '@berth/contracts';

/**
 * The collection fence of the all-in-one process: collector and writers share its memory, so
 * each step is one synchronous stretch of code (nothing interleaves within it), and nothing
 * is lost that the collector would outlive: the process holds both.
 */
export class InProcessCollectionFence implements CollectionFence {
  private lease: { runId: string; expiresAt: number } | undefined;
  private readonly condemned = new Set<string>();
  private readonly touched = new Map<string, number>();
  /** No write outlives its process: the records cover everything since the process began, which is all there is. */
  private readonly since = 0;

  async touch(digests: readonly string[]): Promise<'recorded' | 'condemned' | 'unknown'> {
    const now = Date.now();
    // Whether or not the lease lapsed: a collector of this process that lost it may still have deletes in flight,
    // and nothing outlives the process (release and the next run's begin clear the set).
    if (digests.some((digest) => this.condemned.has(digest))) return 'condemned';
    for (const digest of digests) {
      // Kept in the order of their last touch, so that pruning stops at the first recent one.
      this.touched.delete(digest);
      this.touched.set(digest, now);
    }
    return 'recorded';
  }

  async settle(): Promise<void> {
    // Never `unknown`: nothing to settle.
  }

  async acquire(runId: string, ttlMs: number, windowMs: number): Promise<{ acquired: false } | { acquired: true; now: number; since: number }> {
    const now = Date.now();
    if (this.leaseHolder(now) !== undefined) return { acquired: false };
    this.lease = { runId, expiresAt: now + ttlMs };
    for (const [digest, at] of this.touched) {
      if (at >= now - windowMs) break;
      this.touched.delete(digest);
    }
    return { acquired: true, now, since: this.since };
  }

  async renew(runId: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.leaseHolder(now) !== runId || this.lease === undefined) return false;
    this.lease.expiresAt = now + ttlMs;
    return true;
  }

  async begin(runId: string): Promise<boolean> {
    if (this.leaseHolder(Date.now()) !== runId) return false;
    this.condemned.clear();
    return true;
  }

  async condemn(runId: string, digests: readonly string[], cutoff: number): Promise<string[]> {
    if (this.leaseHolder(Date.now()) !== runId) throw new LeaseLostError(runId);
    const condemned = digests.filter((digest) => (this.touched.get(digest) ?? -Infinity) < cutoff);
    for (const digest of condemned) this.condemned.add(digest);
    return condemned;
  }

  async release(runId: string): Promise<void> {
    if (this.leaseHolder(Date.now()) !== runId) return;
    this.lease = undefined;
    this.condemned.clear();
  }

  private leaseHolder(now: number): string | undefined {
    return this.lease !== undefined && this.lease.expiresAt > now ? this.lease.runId : undefined;
  }
}
