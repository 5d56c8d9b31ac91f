import { randomUUID } from 'node:crypto';
import { type CollectionFence, LeaseLostError } from '@berth/contracts';
import { PrivateRedis } from '@berth/testing';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedis } from '../redis/redis-connection';
import { InProcessCollectionFence } from './in-process-collection-fence';
import { RedisCollectionFence } from './redis-collection-fence';

const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];
const redis: Redis = openRedis({ host, port: Number(port), db: 0, keyPrefix: 'fence-spec' }, 'command', 'fence-spec');

afterAll(async () => {
  await redis.quit();
});

const HOUR = 3_600_000;

/** Two processes' views of one fence: two Redis connections' worth of instances, or one process's memory. */
const implementations: [string, () => { writer: CollectionFence; collector: CollectionFence; prefix?: string }][] = [
  [
    InProcessCollectionFence.name,
    () => {
      const fence = new InProcessCollectionFence();
      return { writer: fence, collector: fence };
    },
  ],
  [
    RedisCollectionFence.name,
    () => {
      const prefix = `fence-${randomUUID()}`;
      return { writer: new RedisCollectionFence(redis, prefix), collector: new RedisCollectionFence(redis, prefix), prefix };
    },
  ],
];

describe.each(implementations)('%s', (name, make) => {
  /** A lease whose records cover the review delay (the Redis fence's `since` set back as if it had run that long). */
  async function leased(fence: ReturnType<typeof make>, runId: string, ttlMs = 30_000): Promise<{ now: number }> {
    if (fence.prefix !== undefined) await redis.set(`${fence.prefix}:gc:since`, 0);
    const lease = await fence.collector.acquire(runId, ttlMs, HOUR);
    if (!lease.acquired) throw new Error('no lease');
    expect(await fence.collector.begin(runId)).toBe(true);
    return lease;
  }

  it('one lease at a time; renewed only by its holder; released, it can be taken again', async () => {
    const fence = make();
    await leased(fence, 'one');
    expect((await fence.collector.acquire('two', 30_000, HOUR)).acquired).toBe(false);
    expect(await fence.collector.renew('two', 30_000)).toBe(false);
    expect(await fence.collector.renew('one', 30_000)).toBe(true);
    await fence.collector.release('two');
    expect((await fence.collector.acquire('two', 30_000, HOUR)).acquired).toBe(false);
    await fence.collector.release('one');
    expect((await fence.collector.acquire('two', 30_000, HOUR)).acquired).toBe(true);
  });

  it('a digest touched after the cutoff is spared; one condemned first refuses the writer until the run ends', async () => {
    const fence = make();
    const { now } = await leased(fence, 'run');
    expect(await fence.writer.touch(['sha256:touched'])).toBe('recorded');
    const condemned = await fence.collector.condemn('run', ['sha256:touched', 'sha256:old'], now - HOUR);
    expect(condemned).toEqual(['sha256:old']);
    expect(await fence.writer.touch(['sha256:new', 'sha256:old'])).toBe('condemned');
    expect(await fence.writer.touch(['sha256:touched'])).toBe('recorded');
    await fence.collector.release('run');
    expect(await fence.writer.touch(['sha256:old'])).toBe('recorded');
  });

  it('a lapsed lease deletes nothing more: condemning throws', async () => {
    const fence = make();
    const { now } = await leased(fence, 'slow', 50);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await expect(fence.collector.condemn('slow', ['sha256:x'], now)).rejects.toBeInstanceOf(LeaseLostError);
    const next = await fence.collector.acquire('next', 30_000, HOUR);
    expect(next.acquired).toBe(true);
    await expect(fence.collector.condemn('slow', ['sha256:x'], now)).rejects.toBeInstanceOf(LeaseLostError);
  });

  if (name === RedisCollectionFence.name) {
    it('condemnations that outlived their lease (a killed collector) answer unknown: the writer asks storage, then settles', async () => {
      const fence = make();
      const { now } = await leased(fence, 'killed', 50);
      expect(await fence.collector.condemn('killed', ['sha256:half-swept'], now)).toEqual(['sha256:half-swept']);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(await fence.writer.touch(['sha256:half-swept'])).toBe('unknown');
      expect(await fence.writer.touch(['sha256:anything'])).toBe('unknown');
      await fence.writer.settle();
      expect(await fence.writer.touch(['sha256:half-swept'])).toBe('recorded');
    });

    it('records lost (Redis flushed): writers answered unknown, the lease gone, and a run waits until new records cover the delay', async () => {
      const fence = make();
      await leased(fence, 'flushed');
      for (const key of await redis.keys(`${fence.prefix}:*`)) await redis.del(key);
      expect(await fence.writer.touch(['sha256:a'])).toBe('unknown');
      await expect(fence.collector.condemn('flushed', ['sha256:b'], 0)).rejects.toBeInstanceOf(LeaseLostError);
      const next = await fence.collector.acquire('next', 30_000, HOUR);
      if (!next.acquired) throw new Error('no lease');
      // Records restart now: they cover no review delay yet.
      expect(next.now - next.since).toBeLessThan(1_000);
      await fence.writer.settle();
      expect(await fence.writer.touch(['sha256:a'])).toBe('recorded');
    });

    it('uses Redis time, and prunes records older than the window when a run starts', async () => {
      const fence = make();
      await redis.zadd(`${fence.prefix}:gc:touched`, 1, 'sha256:ancient');
      const { now } = await leased(fence, 'run');
      expect(Math.abs(now - Date.now())).toBeLessThan(5_000);
      expect(await redis.zscore(`${fence.prefix}:gc:touched`, 'sha256:ancient')).toBeNull();
    });

    it('a writer whose Redis does not answer is refused with 503 UNAVAILABLE, the client to retry', async () => {
      const server = await PrivateRedis.start();
      const away = openRedis({ host: '127.0.0.1', port: Number(server.addr.split(':')[1]), db: 0, keyPrefix: 'fence-spec' }, 'command', 'fence-spec-away');
      try {
        await server.kill();
        await expect(new RedisCollectionFence(away, `fence-${randomUUID()}`).touch(['sha256:a'])).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
      } finally {
        away.disconnect();
      }
    });
  }
});
