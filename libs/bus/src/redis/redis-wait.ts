import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisSettings } from './redis-connection';

/**
 * Resolves once `redis` answers PING, however long Redis is away, and says so in one line
 * while it waits: an instance started before its Redis (a host's reboot, a compose file
 * without ordering) joins when Redis comes, where its first command used to fail and leave it
 * running unannounced for ever (issue 15). A container health check (`berth probe`) fails
 * meanwhile, as the instance is not announced.
 */
export async function untilRedisAnswers(redis: Redis, settings: RedisSettings, logger: Pick<LoggerService, 'log' | 'warn'>): Promise<void> {
  let waiting = false;
  for (;;) {
    try {
      await redis.ping();
      if (waiting) logger.log(`Redis at ${settings.host}:${settings.port} answers`, 'redis');
      return;
    } catch (error) {
      // Unreachable (the connection's own line says why), or connected but refusing (loading its data, a wrong password).
      const refusing = redis.status === 'ready';
      if (!waiting) logger.warn(`waiting for Redis at ${settings.host}:${settings.port}${refusing ? ` (${(error as Error).message})` : ''}`, 'redis');
      waiting = true;
      await (refusing ? sleep(1_000) : new Promise((resolve) => redis.once('ready', resolve)));
    }
  }
}
