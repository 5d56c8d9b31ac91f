import type { BerthConfig } from '@berth/config';
import type { LoginThrottle } from '@berth/contracts';
import type { Redis } from 'ioredis';
import { InProcessLoginThrottle } from './in-process-login-throttle';
import { RedisLoginThrottle } from './redis-login-throttle';

/** Where failed logins are counted: in Redis when the gateway runs apart (`sharedRedis`), in memory all in one process. */
export function loginThrottleOf(config: BerthConfig, sharedRedis?: Redis): LoginThrottle {
  const { limit, window } = config.berth.failedlogins;
  const limits = { limit, windowMs: window };
  if (sharedRedis === undefined) return new InProcessLoginThrottle(limits);
  return new RedisLoginThrottle(sharedRedis, config.berth.bus.keyprefix, limits);
}
