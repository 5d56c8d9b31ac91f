import { Logger } from '@nestjs/common';
import { type JobScheduler, type RepeatableJob, type ScheduledJob, withTimeout } from '@berth/contracts';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import { disconnectNow, openRedis, type RedisSettings } from '../redis/redis-connection';
import { firstRunDelayMs } from './first-run-delay';

/** Finished runs kept in Redis for an operator to look at (BullMQ keeps them all otherwise). */
const KEPT_RUNS = 50;

/** How long stopping waits for BullMQ to close before it lets go. */
const STOP_GRACE_MS = 3_000;

/**
 * Repeatable jobs over Redis, when services run apart: one BullMQ queue per job, named after
 * it, and a job scheduler whose id is the job's name. Every instance upserts the same
 * scheduler, which BullMQ keeps as one (an upsert with an unchanged interval keeps the next
 * run where it was), so N instances make one run per interval; each instance runs a Worker,
 * and whichever is free takes the run. The queue's global concurrency of 1 keeps a run that
 * outlasts its interval from overlapping the next one on another instance.
 */
export class RedisJobScheduler implements JobScheduler {
  private readonly logger = new Logger('jobs');
  private readonly prefix: string;

  constructor(private readonly redis: RedisSettings) {
    this.prefix = new BusKeys(redis.keyPrefix).jobQueues();
  }

  async schedule(job: RepeatableJob): Promise<ScheduledJob> {
    // Commands fail at once while Redis is away (start-up says so instead of hanging); the
    // worker's connection waits for Redis and carries on.
    const commands = openRedis(this.redis, 'command', `jobs:${job.name}`);
    const blocking = openRedis(this.redis, 'blocking', `jobs:${job.name}:worker`);
    const queue = this.queue(job.name, commands);
    const abort = new AbortController();
    // BullMQ may hand over a run it fetched just as stop() aborted: that run is not started.
    const run = async (): Promise<void> => {
      if (!abort.signal.aborted) await job.run(abort.signal);
    };
    const worker = new Worker(job.name, run, { connection: blocking, prefix: this.prefix, concurrency: 1 });
    worker.on('failed', (_run, error) => this.logger.error(`${job.name} failed: ${error.message}`));
    worker.on('error', this.errorReporter(job.name));
    const close = async (): Promise<void> => {
      abort.abort();
      // With Redis there, wait for the (aborted) run to end and be recorded; without, nothing
      // can be recorded, and waiting would hold up the shutdown until Redis returns. The wait
      // is bounded even so: when Redis went away a moment ago, this connection may not know
      // yet while BullMQ's own blocking one is reconnecting, and BullMQ's graceful close then
      // waits for that connection's 'end', which ioredis never emits (see disconnectNow).
      const reachable = blocking.status === 'ready';
      await withTimeout(worker.close(!reachable), STOP_GRACE_MS, 'the worker did not close').catch(() => undefined);
      await withTimeout(queue.close(), STOP_GRACE_MS, 'the queue did not close').catch(() => undefined);
      for (const connection of [commands, blocking]) {
        if (connection.status === 'ready') await connection.quit().catch(() => disconnectNow(connection));
        else disconnectNow(connection);
      }
    };
    try {
      await this.upsert(queue, job);
    } catch (error) {
      await close();
      throw error;
    }
    // Redis restarted empty (it is a cache and a bus, not the source of truth): schedule again.
    const reschedule = (): void => {
      this.upsert(queue, job).catch((error: unknown) => this.logger.warn(`${job.name}: could not schedule again: ${String(error)}`));
    };
    commands.on('ready', reschedule);
    let stopping: Promise<void> | undefined;
    return {
      stop: () => {
        commands.off('ready', reschedule);
        return (stopping ??= close());
      },
    };
  }

  async unschedule(name: string): Promise<void> {
    const commands = openRedis(this.redis, 'command', `jobs:${name}`);
    const queue = this.queue(name, commands);
    try {
      await queue.removeJobScheduler(name);
      // A run already due waits in the queue; with the scheduler gone, it must go too.
      await queue.drain(true);
    } finally {
      await queue.close();
      disconnectNow(commands);
    }
  }

  private queue(name: string, connection: Redis): Queue {
    const queue = new Queue(name, { connection, prefix: this.prefix });
    queue.on('error', this.errorReporter(name));
    return queue;
  }

  private async upsert(queue: Queue, job: RepeatableJob): Promise<void> {
    await queue.setGlobalConcurrency(1);
    // startDate only counts for a new scheduler (or a changed interval): a running schedule keeps its next run.
    await queue.upsertJobScheduler(
      job.name,
      { every: job.intervalMs, startDate: Date.now() + firstRunDelayMs(job.intervalMs) },
      { name: job.name, opts: { removeOnComplete: { count: KEPT_RUNS }, removeOnFail: { count: KEPT_RUNS } } },
    );
  }

  /** BullMQ re-emits connection errors on every retry; one line per kind of error is enough. */
  private errorReporter(name: string): (error: Error) => void {
    let last = '';
    return (error) => {
      if (error.message === last) return;
      last = error.message;
      this.logger.warn(`${name}: ${error.message}`);
    };
  }
}
