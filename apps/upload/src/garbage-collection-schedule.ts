import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { COLLECTION_FENCE, type CollectionFence, JOB_SCHEDULER, type JobScheduler, type ScheduledJob } from '@berth/contracts';
import { OnlineCollection } from '@berth/garbage-collection';
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
        await collection.runAndLog(signal);
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.scheduled?.stop();
  }
}
