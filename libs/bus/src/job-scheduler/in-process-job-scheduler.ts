import { Logger } from '@nestjs/common';
import type { JobScheduler, RepeatableJob, ScheduledJob } from '@berth/contracts';
import { firstRunDelayMs } from './first-run-delay';

/** The all-in-one mode's scheduler: one process is the whole cluster, so a timer is enough. */
export class InProcessJobScheduler implements JobScheduler {
  private readonly logger = new Logger('jobs');

  async schedule(job: RepeatableJob): Promise<ScheduledJob> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let nextAt = Date.now() + firstRunDelayMs(job.intervalMs);

    const arm = (): void => {
      timer = setTimeout(runNow, Math.max(0, nextAt - Date.now()));
      timer.unref();
    };
    const runNow = (): void => {
      running = job
        .run(abort.signal)
        .catch((error: unknown) => this.logger.error(`${job.name} failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => {
          running = undefined;
          if (abort.signal.aborted) return;
          // A fixed rate; a run longer than the interval skips the slots it overran, as BullMQ does.
          nextAt += job.intervalMs * Math.max(1, Math.floor((Date.now() - nextAt) / job.intervalMs) + 1);
          arm();
        });
    };

    arm();
    return {
      stop: async () => {
        abort.abort();
        clearTimeout(timer);
        await running;
      },
    };
  }

  async unschedule(): Promise<void> {
    // Nothing of a timer outlives its process.
  }
}
