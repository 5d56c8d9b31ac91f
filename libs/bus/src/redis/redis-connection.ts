import { readFileSync } from 'node:fs';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import { Logger } from '@nestjs/common';
import { type BerthConfig, ConfigError, parseListenAddress } from '@berth/config';
import { Redis, type RedisOptions } from 'ioredis';

/** Where berth's Redis is and how its keys are named: read once from the config. */
export interface RedisSettings {
  host: string;
  port: number;
  /** An ACL user (Redis 6+); without it, the `default` user. */
  username?: string;
  password?: string;
  db: number;
  /** TLS to Redis: the CAs to trust (the system's when absent) and a client certificate. */
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key'>;
  connectTimeoutMs?: number;
  /** `berth.bus.keyprefix`: the first part of every key, so clusters and test runs can share a db. */
  keyPrefix: string;
}

/**
 * The `redis` section (Distribution's keys) plus `berth.bus.keyprefix`. Services run apart
 * cannot work without Redis, so a missing `redis.addr` is the operator's error, said here.
 */
export function redisSettingsFrom(config: BerthConfig): RedisSettings {
  const addr = config.redis?.addr;
  if (addr === undefined || addr === '') {
    throw new ConfigError([
      { source: 'config', key: 'redis.addr', message: 'missing: services run apart (--service) talk over Redis; set redis.addr to HOST:PORT' },
    ]);
  }
  // The schema has checked its form (redis.schema.ts).
  const { host, port } = parseListenAddress(addr, 'redis.addr');
  const tls = tlsOf(config.redis.tls);
  return {
    host: host ?? '127.0.0.1',
    port,
    ...(config.redis.username ? { username: config.redis.username } : {}),
    ...(config.redis.password ? { password: config.redis.password } : {}),
    db: config.redis.db,
    ...(tls ? { tls } : {}),
    ...(config.redis?.dialtimeout ? { connectTimeoutMs: config.redis.dialtimeout } : {}),
    keyPrefix: config.berth.bus.keyprefix,
  };
}

/**
 * `redis.tls` as files read now, so a missing or broken one is said at start-up (in the words of
 * `config check`) rather than at the first connection.
 */
function tlsOf(tls: BerthConfig['redis']['tls']): RedisSettings['tls'] {
  if (!tls.enabled && tls.certificate === undefined && tls.key === undefined && tls.rootcas === undefined) return undefined;
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError([{ source: 'config', key, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
    }
  };
  const ca = tls.rootcas?.map((file) => read('redis.tls.rootcas', file));
  const cert = tls.certificate !== undefined ? read('redis.tls.certificate', tls.certificate) : undefined;
  const key = tls.key !== undefined ? read('redis.tls.key', tls.key) : undefined;
  for (const [index, pem] of (ca ?? []).entries()) {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError([{ source: 'config', key: 'redis.tls.rootcas', message: `${tls.rootcas![index]!} holds no PEM certificate` }]);
    }
  }
  try {
    createSecureContext({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
  } catch (error) {
    throw new ConfigError([{ source: 'config', key: 'redis.tls', message: `the certificate, key or CAs cannot be used: ${(error as Error).message}` }]);
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/**
 * What a connection is for decides how it behaves while Redis is away:
 * - `command`: fails its commands at once (the caller answers 503) instead of queueing them
 *   until Redis returns, when nobody waits for the answer any more;
 * - `blocking` (XREADGROUP): waits and carries on by itself after a reconnect;
 * - `subscriber`: waits too, but subscribes again itself (redis-queue-client.ts): ioredis's
 *   autoResubscribe would say 'ready' before the channel is listened to again.
 * All of them reconnect forever, backing off to 2 s.
 */
export type RedisRole = 'command' | 'blocking' | 'subscriber';

export function openRedis(settings: RedisSettings, role: RedisRole, name: string): Redis {
  const logger = new Logger('redis');
  const options: RedisOptions = {
    host: settings.host,
    port: settings.port,
    db: settings.db,
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    // Verified as Go does: against the CAs, and the certificate's names against the host dialled.
    ...(settings.tls ? { tls: { ...settings.tls } } : {}),
    ...(settings.connectTimeoutMs !== undefined ? { connectTimeout: settings.connectTimeoutMs } : {}),
    connectionName: `${settings.keyPrefix}:${name}`,
    maxRetriesPerRequest: role === 'command' ? 1 : null,
    autoResubscribe: role !== 'subscriber',
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  };
  const redis = new Redis(options);
  // One line per outage, not one per reconnect attempt; ioredis would print every error otherwise.
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn(`${name}: ${error.message}; reconnecting`);
  });
  redis.on('ready', () => {
    if (reported) logger.log(`${name}: connected again`);
    reported = false;
  });
  return redis;
}

/**
 * Closes `redis` at once and fails whatever still waits on it. ioredis's own `disconnect()`
 * fails waiting commands only when a live socket closes: called while it is reconnecting
 * (Redis away), it just stops trying, and a blocking read queued meanwhile then never settles, which
 * held a stopping upload or manifest instance up for ever.
 */
export function disconnectNow(redis: Redis): void {
  const socketless = redis.status === 'reconnecting';
  redis.disconnect();
  if (socketless) (redis as unknown as { flushQueue(error: Error): void }).flushQueue(new Error('Connection is closed.'));
}
