import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { COLLECTION_FENCE, type CollectionFence, JOB_SCHEDULER, type JobScheduler, type ScheduledJob } from '@berth/contracts';
import { measureStorageUse, OnlineCollection, type OnlineCollectionOutcome } from '@berth/garbage-collection';
import { METRICS, type Metrics, noMetrics } from '@berth/metrics';
import { RegistryStorage } from '@berth/registry-storage';

/** The cluster-wide job's name; also its queue's and scheduler's. WARNING: a wire name. */
export const GARBAGE_COLLECTION_JOB = 'garbage-collection';

export const GARBAGE_COLLECTION_SETTINGS = Symbol('GARBAGE_COLLECTION_SETTINGS');

/** `berth.gc`. */
export interface GarbageCollectionSettings {
  enabled: boolean;
  intervalMs: number;
  reviewDelayMs: number;
  dryRun: boolean;
  deleteUntagged: boolean;
}

/**
 * Online garbage collection every `berth.gc.interval`, once per cluster (a BullMQ job when
 * services run apart, the all-in-one's timer), with the process's RegistryStorage: the link
 * cache every process reads is the one the run invalidates. The upload service runs it, as it
 * runs upload purging. Off: the job is taken off the cluster's schedule.
 */
@Injectable()
export class GarbageCollectionSchedule implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('garbage-collection');
  private scheduled: ScheduledJob | undefined;

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(GARBAGE_COLLECTION_SETTINGS) private readonly settings: GarbageCollectionSettings,
    @Inject(JOB_SCHEDULER) private readonly scheduler: JobScheduler,
    @Optional() @Inject(COLLECTION_FENCE) private readonly fence?: CollectionFence,
    @Optional() @Inject(METRICS) private readonly metrics: Metrics = noMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, intervalMs, reviewDelayMs, dryRun, deleteUntagged } = this.settings;
    if (!enabled || this.fence === undefined) {
      await this.scheduler.unschedule(GARBAGE_COLLECTION_JOB);
      return;
    }
    const collection = new OnlineCollection(this.storage, this.fence, { reviewDelayMs, dryRun, deleteUntagged }, {
      log: (line) => this.logger.log(line),
      warn: (line) => this.logger.warn(line),
    });
    this.scheduled = await this.scheduler.schedule({
      name: GARBAGE_COLLECTION_JOB,
      intervalMs,
      run: async (signal) => {
        let outcome: OnlineCollectionOutcome;
        try {
          outcome = await collection.runAndLog(signal);
        } catch (error) {
          if (this.metrics.enabled) this.metrics.gcRuns.labels('failed').inc();
          throw error;
        }
        if (this.metrics.enabled) await this.measured(outcome, signal);
      },
    });
  }

  /**
   * A run in the metrics, and after one that collected, the storage use it left (what
   * `berth storage-use` prints): a walk of every repository's manifests, once per interval.
   */
  private async measured(outcome: OnlineCollectionOutcome, signal: AbortSignal): Promise<void> {
    this.metrics.gcRuns.labels(outcome.kind).inc();
    if (outcome.kind !== 'collected') return;
    if (!outcome.report.dryRun) this.metrics.gcFreedBytes.inc(outcome.report.blobBytes);
    try {
      const use = await measureStorageUse(this.storage, { signal });
      this.metrics.repositoryReferencedBytes.reset();
      for (const { repository, bytes } of use.repositories) this.metrics.repositoryReferencedBytes.labels(repository).set(bytes);
      this.metrics.storageReferencedBytes.set(use.referenced.bytes);
      this.metrics.storageMeasuredAt.set(Date.now() / 1000);
    } catch (error) {
      this.logger.warn(`storage use not measured after garbage collection: ${(error as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.scheduled?.stop();
  }
}
