import { randomUUID } from 'node:crypto';
import type { HealthReport } from '@berth/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedis } from '../redis/redis-connection';
import { RedisHealthBoard } from './redis-health-board';

const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];

function report(healthy: boolean): HealthReport {
  return { healthy, checkedAt: new Date().toISOString(), checks: { storagedriver_inmemory: { healthy, consecutiveFailures: healthy ? 0 : 3 } } };
}

const connections: { quit(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.quit()));
});

function connect() {
  const redis = openRedis({ host, port: Number(port), db: 0, keyPrefix: `test-${randomUUID()}` }, 'command', 'health-board-spec');
  connections.push(redis);
  return redis;
}

describe(RedisHealthBoard.name, () => {
  it('what the health service publishes, a gateway in another process reads', async () => {
    const prefix = `test-${randomUUID()}`;
    const healthService = new RedisHealthBoard(connect(), prefix, { ttlMs: 10_000 });
    const gateway = new RedisHealthBoard(connect(), prefix, { ttlMs: 10_000, cacheMs: 0 });
    expect(await gateway.current()).toBeUndefined();
    const unhealthy = report(false);
    await healthService.publish(unhealthy);
    expect(await gateway.current()).toEqual(unhealthy);
  });

  it('a reader reuses its read for cacheMs, then sees the new verdict', async () => {
    const prefix = `test-${randomUUID()}`;
    const healthService = new RedisHealthBoard(connect(), prefix, { ttlMs: 10_000 });
    const gateway = new RedisHealthBoard(connect(), prefix, { ttlMs: 10_000, cacheMs: 300 });
    await healthService.publish(report(false));
    expect((await gateway.current())?.healthy).toBe(false);
    await healthService.publish(report(true));
    const published = Date.now();
    expect((await gateway.current())?.healthy).toBe(false);
    while ((await gateway.current())?.healthy !== true) {
      expect(Date.now() - published, 'the new verdict seen once cacheMs is over').toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(Date.now() - published).toBeGreaterThanOrEqual(250);
  });

  it('a report outlives its health service by ttlMs only: then no report, which counts as healthy', async () => {
    const prefix = `test-${randomUUID()}`;
    const healthService = new RedisHealthBoard(connect(), prefix, { ttlMs: 200 });
    const gateway = new RedisHealthBoard(connect(), prefix, { ttlMs: 200, cacheMs: 0 });
    await healthService.publish(report(false));
    const published = Date.now();
    expect((await gateway.current())?.healthy).toBe(false);
    while ((await gateway.current()) !== undefined) {
      expect(Date.now() - published, 'the report gone once ttlMs is over').toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(Date.now() - published).toBeGreaterThanOrEqual(150);
  });
});
