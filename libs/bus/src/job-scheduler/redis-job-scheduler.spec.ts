import { randomUUID } from 'node:crypto';
import type { ScheduledJob } from '@berth/contracts';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { BusKeys } from '../redis/bus-keys';
import { openRedis, type RedisSettings } from '../redis/redis-connection';
import { RedisJobScheduler } from './redis-job-scheduler';

const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];

const cleanups: (() => Promise<unknown>)[] = [];

/** A cluster of its own on the test Redis, whose keys go when the test ends. */
function settings(): RedisSettings {
  const redis: RedisSettings = { host, port: Number(port), db: 0, keyPrefix: `test-${randomUUID()}` };
  cleanups.push(async () => {
    const connection = openRedis(redis, 'command', 'repeatable-job-spec');
    const keys = await connection.keys(`${redis.keyPrefix}:*`);
    if (keys.length > 0) await connection.del(...keys);
    await connection.quit();
  });
  return redis;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What BullMQ holds of a job in Redis, read through BullMQ itself as an operator would. */
function inspect(redis: RedisSettings, name: string): Queue {
  const connection = openRedis(redis, 'blocking', 'repeatable-job-spec');
  const queue = new Queue(name, { connection, prefix: new BusKeys(redis.keyPrefix).jobQueues() });
  cleanups.push(async () => (await queue.close(), await connection.quit()));
  return queue;
}

function started(job: ScheduledJob): ScheduledJob {
  cleanups.push(() => job.stop());
  return job;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe(RedisJobScheduler.name, () => {
  it('two instances scheduling the same job make one run per interval between them, never two at once', async () => {
    const redis = settings();
    const intervalMs = 300;
    const runs: string[] = [];
    let running = 0;
    let overlapped = false;
    const since = Date.now();
    const jobs = await Promise.all(
      ['a', 'b'].map((label) =>
        new RedisJobScheduler(redis).schedule({
          name: 'purge',
          intervalMs,
          run: async () => {
            running++;
            overlapped ||= running > 1;
            runs.push(label);
            await sleep(50);
            running--;
          },
        }),
      ),
    );
    jobs.forEach(started);
    await until(() => runs.length >= 5);
    await Promise.all(jobs.map((job) => job.stop()));
    const elapsed = Date.now() - since;
    // Slots are `intervalMs` apart from the first (within the first interval): however slow
    // the machine, no more runs than slots. Two schedules would make about twice as many.
    expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsed / intervalMs) + 1);
    expect(overlapped).toBe(false);
    expect(await inspect(redis, 'purge').getJobSchedulersCount()).toBe(1);
  });

  it('an instance starting later keeps the schedule where it is', async () => {
    const redis = settings();
    const job = { name: 'purge', intervalMs: 3_600_000, run: async () => {} };
    started(await new RedisJobScheduler(redis).schedule(job));
    const queue = inspect(redis, 'purge');
    const first = await queue.getJobScheduler('purge');
    expect(first?.next).toBeGreaterThanOrEqual(Date.now() - 1_000);
    expect(first?.next).toBeLessThanOrEqual(Date.now() + job.intervalMs);
    started(await new RedisJobScheduler(redis).schedule(job));
    expect((await queue.getJobScheduler('purge'))?.next).toBe(first?.next);
    expect(await queue.getDelayedCount()).toBe(1);
  });

  it('a new interval replaces the old one', async () => {
    const redis = settings();
    const run = async () => {};
    const earlier = started(await new RedisJobScheduler(redis).schedule({ name: 'purge', intervalMs: 3_600_000, run }));
    await earlier.stop();
    started(await new RedisJobScheduler(redis).schedule({ name: 'purge', intervalMs: 60_000, run }));
    const scheduler = await inspect(redis, 'purge').getJobScheduler('purge');
    expect(scheduler?.every).toBe(60_000);
    expect(scheduler?.next).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('unschedule takes the job and its pending run off the cluster', async () => {
    const redis = settings();
    const scheduled = await new RedisJobScheduler(redis).schedule({ name: 'purge', intervalMs: 3_600_000, run: async () => {} });
    await scheduled.stop();
    const queue = inspect(redis, 'purge');
    expect(await queue.getJobSchedulersCount()).toBe(1);
    await new RedisJobScheduler(redis).unschedule('purge');
    expect(await queue.getJobSchedulersCount()).toBe(0);
    expect(await queue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
  });

  it('stop aborts a run in progress and waits for it to end', async () => {
    const redis = settings();
    let running = false;
    let aborted = false;
    let ended = false;
    const job = await new RedisJobScheduler(redis).schedule({
      name: 'purge',
      intervalMs: 200,
      run: async (signal) => {
        running = true;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        aborted = signal.aborted;
        await sleep(50);
        ended = true;
      },
    });
    // Wait for the run itself, listening for the abort: a job active in Redis may not have
    // reached its run yet, and a run that starts after stop() finds its signal aborted already.
    const deadline = Date.now() + 20_000;
    while (!running) {
      if (Date.now() > deadline) throw new Error('the run did not start');
      await sleep(20);
    }
    await job.stop();
    expect(aborted).toBe(true);
    expect(ended).toBe(true);
  });
});
