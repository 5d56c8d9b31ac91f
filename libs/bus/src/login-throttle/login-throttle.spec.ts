import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginThrottle } from '@berth/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessLoginThrottle } from './in-process-login-throttle';
import { RedisLoginThrottle } from './redis-login-throttle';

const redisAddr = process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379';
const limits = { limit: 3, windowMs: 1_500 };

function suite(name: string, make: () => LoginThrottle) {
  describe(name, () => {
    it('counts failures per key, blocks a key at the limit until its window ends, forgets on success', async () => {
      const throttle = make();
      const keys = ['user:alice', 'addr:192.0.2.1'];
      expect(await throttle.blockedFor(keys)).toBe(0);
      expect(await throttle.failed(keys)).toBe(1);
      expect(await throttle.failed(['user:alice', 'addr:192.0.2.2'])).toBe(2);
      expect(await throttle.blockedFor(['addr:192.0.2.1'])).toBe(0);
      expect(await throttle.failed(keys)).toBe(3);
      const blocked = await throttle.blockedFor(keys);
      expect(blocked).toBeGreaterThan(0);
      expect(blocked).toBeLessThanOrEqual(limits.windowMs);
      expect(await throttle.blockedFor(['user:bob'])).toBe(0);
      await throttle.succeeded(['user:alice']);
      expect(await throttle.blockedFor(['user:alice'])).toBe(0);
      expect(await throttle.blockedFor(['addr:192.0.2.1'])).toBe(0);
      await sleep(limits.windowMs + 200);
      expect(await throttle.failed(keys)).toBe(1);
    });
  });
}

suite('InProcessLoginThrottle', () => new InProcessLoginThrottle(limits));

describe('RedisLoginThrottle on a real Redis', () => {
  const [host, port] = redisAddr.split(':');
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis({ host, port: Number(port), lazyConnect: false });
  });
  afterAll(async () => redis?.quit());
  suite('shared by two gateways', () => new RedisLoginThrottle(redis, `test-${randomBytes(4).toString('hex')}`, limits));

  it('two gateways add up one attacker; user names are not Redis keys', async () => {
    const prefix = `test-${randomBytes(4).toString('hex')}`;
    const [one, two] = [new RedisLoginThrottle(redis, prefix, limits), new RedisLoginThrottle(redis, prefix, limits)];
    await one.failed(['user:eve']);
    await two.failed(['user:eve']);
    await one.failed(['user:eve']);
    expect(await two.blockedFor(['user:eve'])).toBeGreaterThan(0);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('eve');
  });

  it('lets attempts through while Redis does not answer', async () => {
    const gone = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const throttle = new RedisLoginThrottle(gone, 'x', limits, 200);
    expect(await throttle.blockedFor(['user:a'])).toBe(0);
    expect(await throttle.failed(['user:a'])).toBe(0);
    gone.disconnect();
  });
});
