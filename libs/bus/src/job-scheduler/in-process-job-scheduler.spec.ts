import { Logger } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { firstRunDelayMs } from './first-run-delay';
import { InProcessJobScheduler } from './in-process-job-scheduler';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe(InProcessJobScheduler.name, () => {
  it('runs the job every interval, one run at a time, and no more once stopped', async () => {
    let runs = 0;
    let running = 0;
    let overlapped = false;
    const job = await new InProcessJobScheduler().schedule({
      name: 'purge',
      intervalMs: 50,
      run: async () => {
        running++;
        overlapped ||= running > 1;
        runs++;
        // Longer than the interval: the next run waits for this one.
        await sleep(80);
        running--;
      },
    });
    await until(() => runs >= 3);
    await job.stop();
    const afterStop = runs;
    await sleep(200);
    expect(runs).toBe(afterStop);
    expect(overlapped).toBe(false);
  });

  it('a failed run is logged and the next one still comes', async () => {
    // The log as the process writes it: every error line Nest's Logger is given.
    const errors: string[] = [];
    Logger.overrideLogger({ log() {}, warn() {}, error: (message: unknown, ...context: unknown[]) => errors.push(`${String(context.at(-1))}: ${String(message)}`) });
    let runs = 0;
    try {
      const job = await new InProcessJobScheduler().schedule({
        name: 'purge',
        intervalMs: 20,
        run: async () => {
          runs++;
          throw new Error('storage away');
        },
      });
      await until(() => runs >= 2);
      await job.stop();
    } finally {
      Logger.overrideLogger(true);
    }
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toBe('jobs: purge failed: storage away');
  });

  it('stop aborts a run in progress and waits for it to end', async () => {
    let started = false;
    let ended = false;
    const job = await new InProcessJobScheduler().schedule({
      name: 'purge',
      intervalMs: 10,
      run: async (signal) => {
        started = true;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        ended = true;
      },
    });
    await until(() => started);
    await job.stop();
    expect(ended).toBe(true);
  });
});

describe(firstRunDelayMs.name, () => {
  it('is a random part of the interval, at most an hour (the reference waits 0–59 minutes)', () => {
    const hour = 3_600_000;
    for (const intervalMs of [1_000, 24 * hour]) {
      const delays = Array.from({ length: 200 }, () => firstRunDelayMs(intervalMs));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThan(Math.min(intervalMs, hour));
      expect(new Set(delays).size).toBeGreaterThan(100);
    }
  });
});
