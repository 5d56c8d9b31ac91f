import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { JOB_SCHEDULER, type JobScheduler, type ScheduledJob } from '@berth/contracts';
import { UploadPurger } from './upload-purger';

/** The cluster-wide job's name; also its queue's and scheduler's. WARNING: a wire name. */
export const UPLOAD_PURGING_JOB = 'upload-purging';

/**
 * Runs the purger every `uploadpurging.interval`, once per cluster, through the scheduler the
 * composition root provides (`JOB_SCHEDULER`). With `enabled: false` it takes the job off the
 * cluster's schedule, so turning purging off and restarting stops it everywhere: an operator
 * who disabled it expects no purge, not one more left behind by an earlier start.
 */
@Injectable()
export class UploadPurgeSchedule implements OnApplicationBootstrap, OnModuleDestroy {
  private scheduled: ScheduledJob | undefined;

  constructor(
    private readonly purger: UploadPurger,
    @Inject(JOB_SCHEDULER) private readonly scheduler: JobScheduler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, intervalMs } = this.purger.settings;
    if (!enabled) {
      await this.scheduler.unschedule(UPLOAD_PURGING_JOB);
      return;
    }
    this.scheduled = await this.scheduler.schedule({
      name: UPLOAD_PURGING_JOB,
      intervalMs,
      run: async (signal) => {
        await this.purger.purge(signal);
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.scheduled?.stop();
  }
}
