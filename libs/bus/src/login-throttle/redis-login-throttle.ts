import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { type LoginThrottle, type LoginThrottleLimits, withTimeout } from '@berth/contracts';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import { LuaScript } from '../redis/lua-script';

/** The longest time left on any key whose count reached ARGV[1]; 0 when none did. */
const BLOCKED_FOR = new LuaScript(`
local longest = 0
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > longest then longest = ttl end
  end
end
return longest
`);

/** Counts one failure on each key (the window starts with the first) and returns the highest count. */
const FAILED = new LuaScript(`
local highest = 0
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  if count > highest then highest = count end
end
return highest
`);

/**
 * Failed logins counted in Redis, shared by every gateway of a cluster: guesses spread over
 * several gateways add up. One key per user or address, named by a hash (a user name is the
 * caller's text, not a Redis key of its own). While Redis does not answer, attempts go
 * through (logged once): the password check still stands.
 */
export class RedisLoginThrottle implements LoginThrottle {
  private readonly keys: BusKeys;
  private readonly logger = new Logger('auth');
  private warned = false;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly limits: LoginThrottleLimits,
    private readonly timeoutMs = 500,
  ) {
    this.keys = new BusKeys(keyPrefix);
  }

  async blockedFor(keys: readonly string[]): Promise<number> {
    const ttl = await this.run(BLOCKED_FOR, keys, this.limits.limit);
    return typeof ttl === 'number' ? ttl : 0;
  }

  async failed(keys: readonly string[]): Promise<number> {
    const count = await this.run(FAILED, keys, this.limits.windowMs);
    return typeof count === 'number' ? count : 0;
  }

  async succeeded(keys: readonly string[]): Promise<void> {
    await this.answer(this.redis.del(...keys.map((key) => this.key(key)))).catch((error: Error) => this.unavailable(error));
  }

  private async run(script: LuaScript, keys: readonly string[], arg: number): Promise<unknown> {
    try {
      return await this.answer(script.run(this.redis, keys.map((key) => this.key(key)), [arg]));
    } catch (error) {
      this.unavailable(error as Error);
      return undefined;
    }
  }

  private key(key: string): string {
    return this.keys.failedLogins(createHash('sha256').update(key).digest('base64url'));
  }

  private unavailable(error: Error): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(`failed logins are not counted while Redis does not answer (${error.message})`);
  }

  private answer<T>(command: Promise<T>): Promise<T> {
    return withTimeout(command, this.timeoutMs, `Redis did not answer within ${this.timeoutMs} ms`);
  }
}
