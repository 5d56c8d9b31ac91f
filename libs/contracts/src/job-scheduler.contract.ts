/**
 * Maintenance work that runs every `intervalMs`, once per cluster (DESIGN.md rule 8): upload
 * purging, garbage collection… The app says what runs and how often; the composition root
 * provides the {@link JobScheduler} that decides where: a timer in the all-in-one process,
 * a BullMQ job scheduler on Redis when services run apart (both in libs/bus).
 */
export interface RepeatableJob {
  /** Unique in the cluster; names the job's queue and scheduler. */
  name: string;
  intervalMs: number;
  /** One run. `signal` aborts when this process stops: a run should then end early. */
  run(signal: AbortSignal): Promise<void>;
}

/** A job this process takes part in running, until {@link stop}. */
export interface ScheduledJob {
  /** Aborts a run in progress, waits for it to end, and takes no more. */
  stop(): Promise<void>;
}

export interface JobScheduler {
  /**
   * Runs `job` every interval, once in the cluster whichever of its processes schedule it.
   * The first run comes after a random part of the first interval (at most an hour), so a
   * restart neither purges at once nor moves an existing schedule.
   */
  schedule(job: RepeatableJob): Promise<ScheduledJob>;
  /** Drops the schedule of `name` and its pending run, for a job the configuration turned off. */
  unschedule(name: string): Promise<void>;
}

export const JOB_SCHEDULER = Symbol('JOB_SCHEDULER');
