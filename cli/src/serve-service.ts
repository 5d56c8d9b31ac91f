import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type BeforeApplicationShutdown, type DynamicModule, type INestApplicationContext, Module, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  DistributedUploadClient,
  linkCacheOf,
  NestMessageClient,
  openRedis,
  RedisHealthBoard,
  RedisJobScheduler,
  RedisQueueClient,
  RedisQueueServer,
  redisSettingsFrom,
  type RedisSettings,
  ServiceDirectory,
  StreamMessageServer,
  untilRedisAnswers,
} from '@berth/bus';
import type { BerthConfig } from '@berth/config';
import { HEALTH_BOARD, JOB_SCHEDULER, LINK_CACHE, MANIFEST_CLIENT, STREAMED_UPLOAD_PATTERNS, UPLOAD_CLIENT, UPLOAD_SERVICE } from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { ManifestModule } from '@berth/manifest';
import type { StorageDriver } from '@berth/storage-driver';
import { UploadModule } from '@berth/upload';
import { httpAdapter } from './http-platform';
import type { JsonLogger } from './json-logger';
import { RuntimeModule } from './runtime.module';
import { listenPublicly } from './public-listener';
import type { ServiceName } from './service-names';

export { isServiceName, type ServiceName, serviceNames } from './service-names';

/**
 * This process's ties to Redis beyond its transports: its announcement in the service
 * directory (withdrawn first on shutdown, so no caller picks a stopping instance) and the
 * connections and clients to close last.
 */
class RedisLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly withdrawals: (() => Promise<void>)[] = [];
  readonly closers: (() => unknown)[] = [];

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.withdrawals.map((withdraw) => withdraw()));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.closers.map(async (close) => close()));
  }
}

const REDIS_LIFECYCLE = Symbol('REDIS_LIFECYCLE');

/**
 * One service in this process, talking to the others over Redis. Nothing here is per
 * instance: any number of instances start from one config file (internal listeners take
 * free ports and announce them in Redis).
 */
export async function serveService(config: BerthConfig, service: ServiceName, driver: StorageDriver, logger: JsonLogger): Promise<void> {
  const redis = redisSettingsFrom(config);
  const instanceId = `${service}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const lifecycle = new RedisLifecycle();
  const commands = openRedis(redis, 'command', `${instanceId}`);
  lifecycle.closers.push(() => commands.quit());
  await untilRedisAnswers(commands, redis, logger);
  const directory = new ServiceDirectory(commands, redis.keyPrefix);
  const timeoutMs = config.berth.bus.requesttimeout;
  const common = { provide: REDIS_LIFECYCLE, useValue: lifecycle };
  const links = { provide: LINK_CACHE, useValue: linkCacheOf(config, commands) };

  let app: INestApplicationContext;
  let address = '';
  switch (service) {
    case 'gateway': {
      const calls = new RedisQueueClient(redis, { timeoutMs });
      const uploads = new DistributedUploadClient(new NestMessageClient(calls), directory, commands, redis.keyPrefix, { timeoutMs });
      lifecycle.closers.unshift(() => calls.close(), () => uploads.close());
      const gateway = await NestFactory.create(
        compose(config, driver, GatewayModule, [
          common,
          links,
          { provide: MANIFEST_CLIENT, useValue: new NestMessageClient(calls) },
          { provide: UPLOAD_CLIENT, useValue: uploads },
          { provide: HEALTH_BOARD, useValue: new RedisHealthBoard(commands, redis.keyPrefix, { ttlMs: healthTtlMs(config) }) },
        ]),
        httpAdapter(config),
        { logger },
      );
      gateway.enableShutdownHooks();
      await listenPublicly(gateway, config, logger);
      app = gateway;
      address = config.http.addr;
      break;
    }
    case 'upload': {
      const upload = await NestFactory.create(
        compose(config, driver, UploadModule, [common, links, { provide: JOB_SCHEDULER, useValue: new RedisJobScheduler(redis) }]),
        httpAdapter(config),
        { logger },
      );
      const bytes = new StreamMessageServer({ addr: config.berth.upload.addr, patterns: STREAMED_UPLOAD_PATTERNS });
      const listener = upload.connectMicroservice({ strategy: bytes });
      const queue = upload.connectMicroservice({ strategy: queueServer(redis, instanceId) });
      upload.enableShutdownHooks();
      // The listener first: an instance that cannot bind its port takes no request off the queue.
      await listener.listen();
      await queue.listen();
      await upload.init();
      app = upload;
      address = bytes.address ?? '';
      break;
    }
    case 'manifest': {
      const manifest = await NestFactory.create(compose(config, driver, ManifestModule, [common, links]), httpAdapter(config), { logger });
      manifest.connectMicroservice({ strategy: queueServer(redis, instanceId) });
      manifest.enableShutdownHooks();
      await manifest.startAllMicroservices();
      await manifest.init();
      app = manifest;
      break;
    }
    case 'health': {
      const healthBoard = new RedisHealthBoard(commands, redis.keyPrefix, { ttlMs: healthTtlMs(config) });
      app = await NestFactory.createApplicationContext(
        compose(config, driver, HealthModule, [common, { provide: HEALTH_BOARD, useValue: healthBoard }]),
        { logger },
      );
      app.enableShutdownHooks();
      await app.init();
      break;
    }
  }
  // Announced last: an instance in the directory is one that serves.
  lifecycle.withdrawals.push(await directory.announce(service === 'upload' ? UPLOAD_SERVICE : service, { id: instanceId, address }));
  logger.log(`serving ${service} as ${instanceId}${address ? ` on ${address}` : ''}`, 'berth');
}

/** The one service's module with what it needs from outside. */
function compose(config: BerthConfig, driver: StorageDriver, service: Type<unknown>, providers: Parameters<typeof RuntimeModule.forRoot>[2]): DynamicModule {
  @Module({})
  class ServiceModule {}
  return { module: ServiceModule, imports: [RuntimeModule.forRoot(config, driver, providers), service] };
}

function queueServer(redis: RedisSettings, instanceId: string): RedisQueueServer {
  return new RedisQueueServer(redis, { instanceId });
}

/** A report stands for three check intervals: a dead health service's verdict does not outlive it for long. */
function healthTtlMs(config: BerthConfig): number {
  return Math.max(3 * config.health.storagedriver.interval, 30_000);
}
