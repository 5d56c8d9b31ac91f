import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { LINK_CACHE_TTL_MS, type LinkCache, withTimeout } from '@berth/contracts';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import { LuaScript } from '../redis/lua-script';

export interface RedisLinkCacheOptions {
  ttlMs?: number;
  /** How long a request waits for Redis before it reads storage instead (a Redis host that went silent). */
  timeoutMs?: number;
  /** Quit the connection on shutdown: it was opened for this cache alone. */
  ownsConnection?: boolean;
}

/**
 * Stores what storage said, unless the generation changed since the read began: the
 * invalidation of a write that landed during the read (`ARGV[1]`: the generation seen,
 * empty for none).
 */
const FILL = new LuaScript(`
local generation = redis.call('HGET', KEYS[1], 'g')
if (generation or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

const RETRY_MS = 1_000;

/**
 * `storage.cache.blobdescriptor: redis`, and `inmemory` when services run apart: one entry
 * per link, shared by every instance, so an invalidation is seen by all of them at once
 * (per-process memory could only be told later, over pub/sub, and would answer from a stale
 * entry meanwhile). Each entry is a hash: `v` the content, `g` its invalidation count.
 *
 * Redis is a cache here, never the truth: while it is away or slow, reads go to storage, and
 * an invalidation that could not be written is kept and retried until Redis answers (reads of
 * that path in this process skip the cache until then).
 */
export class RedisLinkCache implements LinkCache, OnApplicationShutdown {
  private readonly keys: BusKeys;
  private readonly logger = new Logger('cache');
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  /** Invalidations Redis did not take, each with a count so that a newer failure is not dropped by an older retry. */
  private readonly unsent = new Map<string, number>();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly options: RedisLinkCacheOptions = {},
  ) {
    this.keys = new BusKeys(keyPrefix);
    this.ttlMs = options.ttlMs ?? LINK_CACHE_TTL_MS;
    this.timeoutMs = options.timeoutMs ?? 500;
    redis.on('ready', () => this.sendUnsent());
  }

  async read(path: string, load: () => Promise<string | undefined>): Promise<string | undefined> {
    const key = this.keys.cachedLink(path);
    // The generation seen before storage is read; undefined: do not store what is read.
    let ticket: string | undefined;
    if (this.redis.status === 'ready' && !this.unsent.has(path)) {
      try {
        const [value, generation] = await this.answer(this.redis.hmget(key, 'v', 'g'));
        if (value !== null && value !== undefined) return value;
        ticket = generation ?? '';
      } catch {
        // Storage answers instead.
      }
    }
    const value = await load();
    if (value !== undefined && ticket !== undefined) {
      // A lost fill only costs the next read a trip to storage.
      await this.answer(FILL.run(this.redis, [key], [ticket, value, this.ttlMs])).catch(() => undefined);
    }
    return value;
  }

  async invalidate(paths: readonly string[]): Promise<void> {
    try {
      if (this.redis.status !== 'ready') throw new Error(`the connection is ${this.redis.status}`);
      await this.answer(this.send(paths));
    } catch (error) {
      // One line per outage, not one per write.
      if (this.unsent.size === 0) this.logger.warn(`invalidations wait for Redis (${(error as Error).message}); retried until it answers`);
      for (const path of paths) this.unsent.set(path, (this.unsent.get(path) ?? 0) + 1);
      this.scheduleRetry();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.retry);
    if (this.options.ownsConnection) await this.redis.quit().catch(() => undefined);
  }

  private async send(paths: readonly string[]): Promise<void> {
    const batch = this.redis.multi();
    for (const path of paths) {
      const key = this.keys.cachedLink(path);
      // The generation outlives the value for a whole TTL: reads that began before still see it changed.
      batch.hincrby(key, 'g', 1).hdel(key, 'v').pexpire(key, this.ttlMs);
    }
    const results = await batch.exec();
    const failed = results?.find(([error]) => error !== null);
    if (results === null || failed) throw failed?.[0] ?? new Error('the transaction was discarded');
  }

  private sendUnsent(): void {
    if (this.unsent.size === 0) return;
    const snapshot = [...this.unsent];
    const paths = snapshot.map(([path]) => path);
    this.send(paths).then(
      () => {
        for (const [path, count] of snapshot) if (this.unsent.get(path) === count) this.unsent.delete(path);
        this.logger.log(`sent ${paths.length} invalidation(s) kept while Redis was away`);
      },
      () => this.scheduleRetry(),
    );
  }

  private scheduleRetry(): void {
    if (this.retry !== undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.sendUnsent();
    }, RETRY_MS);
    this.retry.unref();
  }

  /** `command`'s answer, or a rejection once Redis took longer than `timeoutMs`. */
  private answer<T>(command: Promise<T>): Promise<T> {
    return withTimeout(command, this.timeoutMs, `Redis did not answer within ${this.timeoutMs} ms`);
  }
}
