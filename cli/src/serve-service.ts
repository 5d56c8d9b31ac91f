import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TlsOptions } from 'node:tls';
import { type BeforeApplicationShutdown, type DynamicModule, type INestApplicationContext, Module, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  DistributedUploadClient,
  RedisCollectionFence,
  InternalRequestSigner,
  linkCacheOf,
  loginThrottleOf,
  NestMessageClient,
  openRedis,
  queueDepths,
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
import {
  COLLECTION_FENCE,
  HEALTH_BOARD,
  JOB_SCHEDULER,
  LINK_CACHE,
  LOGIN_THROTTLE,
  MANIFEST_CLIENT,
  ManifestPattern,
  NO_LINK_CACHE,
  STREAMED_UPLOAD_PATTERNS,
  UPLOAD_CLIENT,
  UPLOAD_SERVICE,
  UploadPattern,
} from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { ManifestModule } from '@berth/manifest';
import { instrumentClient, instrumentLinkCache, METRICS, type Metrics, type ReadinessCheck } from '@berth/metrics';
import type { StorageDriver } from '@berth/storage-driver';
import type { BerthLogger } from '@berth/telemetry';
import { UploadModule } from '@berth/upload';
import { DEBUG_LISTENER, DebugListener, healthChecksConfigured, healthReadiness, storageReadiness } from './debug-listener';
import { httpAdapter, httpAppOptions } from './http-platform';
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
export async function serveService(config: BerthConfig, service: ServiceName, driver: StorageDriver, logger: BerthLogger, metrics: Metrics, tls?: TlsOptions): Promise<void> {
  const redis = redisSettingsFrom(config);
  const instanceId = `${service}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const lifecycle = new RedisLifecycle();
  const commands = openRedis(redis, 'command', `${instanceId}`);
  lifecycle.closers.push(() => commands.quit());
  await untilRedisAnswers(commands, redis, logger);
  const directory = new ServiceDirectory(commands, redis.keyPrefix);
  const timeoutMs = config.berth.bus.requesttimeout;
  const linkCache = linkCacheOf(config, commands);
  const links = { provide: LINK_CACHE, useValue: linkCache === NO_LINK_CACHE ? linkCache : instrumentLinkCache(linkCache, metrics) };
  const board = new RedisHealthBoard(commands, redis.keyPrefix, { ttlMs: healthTtlMs(config) });
  // `/readyz`: the storage answers, Redis answers; the gateway also needs its peers announced.
  const readiness: ReadinessCheck[] = [
    storageReadiness(driver),
    { name: 'redis', check: () => commands.ping().then(() => undefined) },
    ...(service === 'gateway' ? [peersReadiness(directory), healthReadiness(board, config, healthChecksConfigured(config))] : []),
  ];
  const debug =
    service === 'gateway'
      ? new DebugListener({ addr: config.http.debug.addr, key: 'http.debug.addr' }, config, metrics, readiness, board)
      : new DebugListener({ addr: config.berth.debug.addr, key: 'berth.debug.addr' }, config, metrics, readiness);
  // berth.gc: the upload service's blob commits, mounts and collections and the manifest service's PUTs meet in Redis.
  const fence = config.berth.gc.enabled ? [{ provide: COLLECTION_FENCE, useValue: new RedisCollectionFence(commands, redis.keyPrefix) }] : [];
  const common = [
    { provide: REDIS_LIFECYCLE, useValue: lifecycle },
    { provide: METRICS, useValue: metrics },
    { provide: DEBUG_LISTENER, useValue: debug },
  ];

  let app: INestApplicationContext;
  let address = '';
  switch (service) {
    case 'gateway': {
      const calls = new RedisQueueClient(redis, { timeoutMs });
      const uploads = new DistributedUploadClient(new NestMessageClient(calls), directory, commands, redis.keyPrefix, { timeoutMs, signer: internalSigner(config) });
      lifecycle.closers.unshift(() => calls.close(), () => uploads.close());
      if (metrics.enabled) {
        // The queues the gateway sends on (blob bytes travel on the upload listener, not a queue).
        const queued = [...Object.values(ManifestPattern), ...Object.values(UploadPattern).filter((pattern) => !STREAMED_UPLOAD_PATTERNS.includes(pattern))];
        metrics.beforeScrape(async () => {
          for (const [pattern, depth] of await queueDepths(commands, redis.keyPrefix, queued)) metrics.busQueueDepth.labels(pattern).set(depth);
        });
      }
      const gateway = await NestFactory.create(
        compose(config, driver, GatewayModule, [
          ...common,
          links,
          { provide: MANIFEST_CLIENT, useValue: instrumentClient(new NestMessageClient(calls), metrics) },
          { provide: UPLOAD_CLIENT, useValue: instrumentClient(uploads, metrics) },
          // Counted in Redis: several gateways see one attacker's guesses together.
          { provide: LOGIN_THROTTLE, useValue: loginThrottleOf(config, commands) },
          { provide: HEALTH_BOARD, useValue: board },
        ]),
        httpAdapter(config, tls),
        httpAppOptions(logger),
      );
      gateway.enableShutdownHooks();
      await listenPublicly(gateway, config, logger);
      app = gateway;
      address = config.http.addr;
      break;
    }
    case 'upload': {
      const upload = await NestFactory.create(
        compose(config, driver, UploadModule, [...common, links, ...fence, { provide: JOB_SCHEDULER, useValue: new RedisJobScheduler(redis) }]),
        httpAdapter(config),
        httpAppOptions(logger),
      );
      const bytes = new StreamMessageServer({ addr: config.berth.upload.addr, patterns: STREAMED_UPLOAD_PATTERNS, signer: internalSigner(config) });
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
      const manifest = await NestFactory.create(compose(config, driver, ManifestModule, [...common, links, ...fence]), httpAdapter(config), httpAppOptions(logger));
      manifest.connectMicroservice({ strategy: queueServer(redis, instanceId) });
      manifest.enableShutdownHooks();
      await manifest.startAllMicroservices();
      await manifest.init();
      app = manifest;
      break;
    }
    case 'health': {
      app = await NestFactory.createApplicationContext(
        compose(config, driver, HealthModule, [...common, { provide: HEALTH_BOARD, useValue: board }]),
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

/** servableDriver has refused a gateway or upload without http.secret. */
function internalSigner(config: BerthConfig): InternalRequestSigner {
  return new InternalRequestSigner(config.http.secret ?? '');
}

function queueServer(redis: RedisSettings, instanceId: string): RedisQueueServer {
  return new RedisQueueServer(redis, { instanceId });
}

/**
 * A report stands for three intervals of the slowest check (the report is published after every
 * check's run): a health service that stops publishing is noticed within that bound, plus the
 * gateway's one second of reuse. The gateway then serves as with no health checks, and its
 * `/readyz` says no report (see the README's Health).
 */
function healthTtlMs(config: BerthConfig): number {
  const { storagedriver, file, http, tcp } = config.health;
  return 3 * Math.max(storagedriver.interval, ...[...file, ...http, ...tcp].map((check) => check.interval));
}

/** `/readyz`'s peers: the gateway has somewhere to send manifests and blob bytes. */
function peersReadiness(directory: ServiceDirectory): ReadinessCheck {
  return {
    name: 'peers',
    check: async () => {
      const [manifests, uploads] = await Promise.all([directory.list('manifest'), directory.list(UPLOAD_SERVICE)]);
      const missing = [...(manifests.length === 0 ? ['manifest'] : []), ...(uploads.length === 0 ? ['upload'] : [])];
      if (missing.length > 0) throw new Error(`no ${missing.join(' and no ')} instance announced`);
    },
  };
}
