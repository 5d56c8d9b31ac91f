import { randomUUID } from 'node:crypto';
import { type CollectionFence, LeaseLostError } from '@berth/contracts';
import type { Digest } from '@berth/oci';
import type { RegistryStorage } from '@berth/registry-storage';
import { collectGarbage, type GarbageCollectionReport, summaryOf } from './garbage-collector';
import { RUN_MARKER_VALID_MS, RunMarker } from './run-marker';

/** `berth.gc`, as a run takes it. */
export interface OnlineCollectionSettings {
  reviewDelayMs: number;
  dryRun: boolean;
  deleteUntagged: boolean;
}

/** What one run did: collected (its report), or why it did not run. */
export type OnlineCollectionOutcome =
  | { kind: 'collected'; runId: string; report: GarbageCollectionReport; durationMs: number }
  | { kind: 'skipped'; reason: string };

/** The lease's time to live: a collector that stops renewing (killed, paused) loses it this long after. */
export const LEASE_TTL_MS = 30_000;
const RENEW_EVERY_MS = 5_000;
/** A batch is condemned and deleted only while the marker has at least this long left: a batch's deletes end before it lapses. */
const MARKER_MARGIN_MS = 8_000;
const MARKER_EVERY_MS = RUN_MARKER_VALID_MS / 4;

/**
 * One online collection run (the README's "Online collection"): the lease, the storage marker
 * (which also tells storage's time), a mark as offline where only content storage dates before
 * `now - reviewdelay` is a candidate, and a sweep that deletes, batch by batch, only what the
 * fence condemned: content no write referenced since the run's cutoff, which writes touching it
 * are then refused until the run ends. Redis (the fence) holds only leases and records; losing
 * it stops the run, which the next interval starts over.
 */
export class OnlineCollection {
  private readonly marker: RunMarker;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly fence: CollectionFence,
    private readonly settings: OnlineCollectionSettings,
    private readonly log: { log(line: string): void; warn(line: string): void } = { log: () => undefined, warn: () => undefined },
  ) {
    this.marker = new RunMarker(storage.driver);
  }

  async run(signal?: AbortSignal): Promise<OnlineCollectionOutcome> {
    const runId = randomUUID();
    const { reviewDelayMs } = this.settings;
    const lease = await this.fence.acquire(runId, LEASE_TTL_MS, reviewDelayMs);
    if (!lease.acquired) return { kind: 'skipped', reason: 'another collection holds the lease' };
    const started = Date.now();
    const stop = new AbortController();
    let lost: Error | undefined;
    let markerWrittenAt = 0;
    const timers: NodeJS.Timeout[] = [];
    const abort = (): void => stop.abort();
    signal?.addEventListener('abort', abort);
    // A signal that aborted before this line (while the lease was taken) never fires again.
    if (signal?.aborted) stop.abort();
    try {
      // A write checks the fence, then storage; one that began before the records did may land after the mark looked.
      if (lease.since > lease.now - reviewDelayMs) {
        return { kind: 'skipped', reason: `the fence's records begin ${Math.round((lease.now - lease.since) / 1000)}s ago: collection waits until they cover the review delay` };
      }
      const other = await this.marker.liveRun();
      if (other !== undefined) return { kind: 'skipped', reason: `run ${other}'s marker in storage is live: it may still be deleting` };
      if (!(await this.fence.begin(runId))) throw new LeaseLostError(runId);
      const storageNow = await this.marker.write(runId);
      markerWrittenAt = Date.now();
      const renewals = setInterval(() => {
        this.fence
          .renew(runId, LEASE_TTL_MS)
          .then((held) => {
            if (!held) throw new LeaseLostError(runId);
          })
          .catch((error: unknown) => {
            lost ??= error instanceof Error ? error : new Error(String(error));
            stop.abort();
          });
      }, RENEW_EVERY_MS);
      const markers = setInterval(() => {
        if (lost !== undefined) return;
        const writing = Date.now();
        this.marker.write(runId).then(
          () => (markerWrittenAt = Math.max(markerWrittenAt, writing)),
          (error: unknown) => this.log.warn(`garbage collection: the run marker could not be rewritten: ${String(error)}`),
        );
      }, MARKER_EVERY_MS);
      timers.push(renewals, markers);
      for (const timer of timers) timer.unref();

      const cutoff = lease.now - reviewDelayMs;
      const youngAfter = new Date(storageNow.getTime() - reviewDelayMs);
      const report = await collectGarbage(this.storage, {
        dryRun: this.settings.dryRun,
        deleteUntagged: this.settings.deleteUntagged,
        quiet: true,
        print: () => undefined,
        warn: (line) => this.log.warn(`garbage collection: ${line}`),
        signal: stop.signal,
        online: {
          youngAfter,
          condemn: async (digests: Digest[]) => {
            this.mayDelete(runId, lost, markerWrittenAt, stop.signal);
            const condemned = await this.fence.condemn(runId, digests, cutoff);
            this.mayDelete(runId, lost, markerWrittenAt, stop.signal);
            return new Set(condemned);
          },
        },
      });
      return { kind: 'collected', runId, report, durationMs: Date.now() - started };
    } catch (error) {
      throw lost ?? error;
    } finally {
      signal?.removeEventListener('abort', abort);
      for (const timer of timers) clearInterval(timer);
      if (markerWrittenAt > 0) await this.marker.remove(runId).catch((error: unknown) => this.log.warn(`garbage collection: the run marker stays: ${String(error)}`));
      await this.fence.release(runId).catch(() => undefined);
    }
  }

  /** One run and its line in the log. */
  async runAndLog(signal?: AbortSignal): Promise<OnlineCollectionOutcome> {
    const outcome = await this.run(signal);
    if (outcome.kind === 'skipped') this.log.log(`garbage collection skipped: ${outcome.reason}`);
    else {
      const { report, durationMs, runId } = outcome;
      this.log.log(`garbage collection ${runId} in ${durationMs} ms: ${summaryOf(report)}; ${report.spared ?? 0} spared (referenced during the run)`);
    }
    return outcome;
  }

  /** Throws unless the run may still delete: its lease held, its marker live for a batch more, not stopped. */
  private mayDelete(runId: string, lost: Error | undefined, markerWrittenAt: number, signal: AbortSignal): void {
    if (lost !== undefined) throw lost;
    if (signal.aborted) throw new Error(`garbage collection run ${runId} was stopped: it deletes nothing more`);
    if (Date.now() > markerWrittenAt + RUN_MARKER_VALID_MS - MARKER_MARGIN_MS) {
      throw new Error(`garbage collection run ${runId}: its marker in storage was not rewritten in time; it deletes nothing more`);
    }
  }
}
