import { type CollectionFence, LeaseLostError } from '@berth/contracts';
import { OciError } from '@berth/oci';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import { LuaScript } from '../redis/lua-script';

/** Redis's clock in milliseconds, the one clock every process of the cluster shares. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: lease, condemned, touched, since. ARGV: the digests. `unknown` when the records are
 * gone (Redis flushed or restarted: `since` is missing) or when condemnations outlived their
 * lease (a run that lost it may still be deleting): the writer asks storage.
 */
const TOUCH = new LuaScript(`${NOW}
local leased = redis.call('EXISTS', KEYS[1]) == 1
local unknown = redis.call('EXISTS', KEYS[4]) == 0 or (not leased and redis.call('SCARD', KEYS[2]) > 0)
if leased and not unknown then
  for i = 1, #ARGV do
    if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 then return 'condemned' end
  end
end
for i = 1, #ARGV do redis.call('ZADD', KEYS[3], now, ARGV[i]) end
if unknown then return 'unknown' end
return 'recorded'
`);

/** KEYS: lease, condemned, since. Records restart now; condemnations without a lease go. */
const SETTLE = new LuaScript(`${NOW}
redis.call('SET', KEYS[3], now, 'NX')
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return 1
`);

/** KEYS: lease, since, touched. ARGV: run id, ttl, window. Returns {0} or {1, now, since}. */
const ACQUIRE = new LuaScript(`${NOW}
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local since = tonumber(redis.call('GET', KEYS[2]))
if not since then
  since = now
  redis.call('SET', KEYS[2], now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - tonumber(ARGV[3])))
return {1, now, since}
`);

/** KEYS: lease. ARGV: run id, ttl. */
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/** KEYS: lease, condemned. ARGV: run id. */
const BEGIN = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
return 1
`);

/** KEYS: lease, condemned, touched. ARGV: run id, cutoff, the digests. False when the lease is not the run's. */
const CONDEMN = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local cutoff = tonumber(ARGV[2])
local condemned = {}
for i = 3, #ARGV do
  local touched = redis.call('ZSCORE', KEYS[3], ARGV[i])
  if not touched or tonumber(touched) < cutoff then
    redis.call('SADD', KEYS[2], ARGV[i])
    condemned[#condemned + 1] = ARGV[i]
  end
end
return condemned
`);

/** KEYS: lease, condemned. ARGV: run id. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`);

/**
 * The collection fence in Redis, when services run apart: each step one Lua script, so a
 * writer's touch and a collector's condemnation of the same digest never interleave. Writers
 * fail when Redis does not answer (as every write path does when the bus is away): a write
 * that cannot record its digests must not go on while a collector may be deleting them.
 */
export class RedisCollectionFence implements CollectionFence {
  private readonly lease: string;
  private readonly condemned: string;
  private readonly touched: string;
  private readonly since: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    const keys = new BusKeys(keyPrefix);
    this.lease = keys.collectionLease();
    this.condemned = keys.collectionCondemned();
    this.touched = keys.collectionTouched();
    this.since = keys.collectionRecordsSince();
  }

  async touch(digests: readonly string[]): Promise<'recorded' | 'condemned' | 'unknown'> {
    if (digests.length === 0) return 'recorded';
    try {
      return (await TOUCH.run(this.redis, [this.lease, this.condemned, this.touched, this.since], digests)) as 'recorded' | 'condemned' | 'unknown';
    } catch {
      // A 503 the client retries, as for any write while the bus is away; Redis's own words may name its address.
      throw new OciError('UNAVAILABLE', 'cannot check with garbage collection that this content may be referenced: Redis does not answer');
    }
  }

  async settle(): Promise<void> {
    await SETTLE.run(this.redis, [this.lease, this.condemned, this.since]);
  }

  async acquire(runId: string, ttlMs: number, windowMs: number): Promise<{ acquired: false } | { acquired: true; now: number; since: number }> {
    const [acquired, now, since] = (await ACQUIRE.run(this.redis, [this.lease, this.since, this.touched], [runId, ttlMs, windowMs])) as number[];
    return acquired === 1 ? { acquired: true, now: now as number, since: since as number } : { acquired: false };
  }

  async renew(runId: string, ttlMs: number): Promise<boolean> {
    return (await RENEW.run(this.redis, [this.lease], [runId, ttlMs])) === 1;
  }

  async begin(runId: string): Promise<boolean> {
    return (await BEGIN.run(this.redis, [this.lease, this.condemned], [runId])) === 1;
  }

  async condemn(runId: string, digests: readonly string[], cutoff: number): Promise<string[]> {
    const condemned = (await CONDEMN.run(this.redis, [this.lease, this.condemned, this.touched], [runId, cutoff, ...digests])) as string[] | null;
    if (condemned === null) throw new LeaseLostError(runId);
    return condemned;
  }

  async release(runId: string): Promise<void> {
    await RELEASE.run(this.redis, [this.lease, this.condemned], [runId]);
  }
}
