import { Logger } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { type LinkCache, NO_LINK_CACHE } from '@berth/contracts';
import type { Redis } from 'ioredis';
import { openRedis, redisSettingsFrom } from '../redis/redis-connection';
import { InProcessLinkCache } from './in-process-link-cache';
import { RedisLinkCache } from './redis-link-cache';

/** The reference's default size of its in-memory blob descriptor cache. */
const DEFAULT_ENTRIES = 10_000;

/**
 * The link cache `storage.cache.blobdescriptor` asks for. `sharedRedis` is the connection of
 * a service run apart (`--service`): there `inmemory` is served from Redis too, since memory
 * of one process cannot be invalidated by a write in another before that one answers.
 * All in one process, `redis` opens a connection of its own (`redis` section).
 */
export function linkCacheOf(config: BerthConfig, sharedRedis?: Redis): LinkCache {
  const { blobdescriptor, blobdescriptorsize } = config.storage.cache;
  const keyPrefix = config.berth.bus.keyprefix;
  switch (blobdescriptor) {
    case undefined:
      return NO_LINK_CACHE;
    case 'inmemory':
      if (sharedRedis === undefined) return new InProcessLinkCache(blobdescriptorsize > 0 ? blobdescriptorsize : DEFAULT_ENTRIES);
      new Logger('cache').log(
        'storage.cache.blobdescriptor: inmemory is kept in Redis when services run apart: every instance must see an invalidation at once',
      );
      return new RedisLinkCache(sharedRedis, keyPrefix);
    case 'redis':
      if (sharedRedis !== undefined) return new RedisLinkCache(sharedRedis, keyPrefix);
      return new RedisLinkCache(openRedis(redisSettingsFrom(config), 'command', 'link-cache'), keyPrefix, { ownsConnection: true });
  }
}
