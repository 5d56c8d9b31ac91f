import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';

/**
 * How many requests wait in each pattern's queue, taken by no replica yet: the consumer
 * group's `lag` (XINFO GROUPS, Redis 7), or the whole stream while no replica has made the
 * group. Entries stay in the stream after their reply, so XLEN alone would count those too.
 */
export async function queueDepths(redis: Redis, keyPrefix: string, patterns: readonly string[]): Promise<Map<string, number>> {
  const keys = new BusKeys(keyPrefix);
  const depths = new Map<string, number>();
  await Promise.all(
    patterns.map(async (pattern) => {
      const key = keys.requests(pattern);
      const groups = (await redis.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[][];
      if (groups.length === 0) {
        depths.set(pattern, await redis.xlen(key));
        return;
      }
      const fields = groups[0]!;
      const lag = fields[fields.indexOf('lag') + 1];
      depths.set(pattern, typeof lag === 'number' ? lag : 0);
    }),
  );
  return depths;
}
