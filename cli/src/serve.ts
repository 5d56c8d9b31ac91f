import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InProcessBus, InProcessClient, InProcessCollectionFence, InProcessHealthBoard, InProcessJobScheduler, InProcessServer, linkCacheOf, loginThrottleOf, NestMessageClient } from '@berth/bus';
import type { BerthConfig } from '@berth/config';
import { COLLECTION_FENCE, HEALTH_BOARD, JOB_SCHEDULER, LINK_CACHE, LOGIN_THROTTLE, MANIFEST_CLIENT, NO_LINK_CACHE, UPLOAD_CLIENT } from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { instrumentClient, instrumentLinkCache, METRICS, Metrics } from '@berth/metrics';
import { ManifestModule } from '@berth/manifest';
import type { StorageDriver } from '@berth/storage-driver';
import { BerthLogger, slowStorageLog, startTracing, tracedDriver } from '@berth/telemetry';
import { UploadModule } from '@berth/upload';
import { DEBUG_LISTENER, DebugListener, healthReadiness, storageReadiness } from './debug-listener';
import { httpAdapter, httpAppOptions } from './http-platform';
import { listenPublicly } from './public-listener';
import { RuntimeModule } from './runtime.module';
import { servable } from './servable';
import { type ServiceName, serveService } from './serve-service';
import { untilStorageAnswers } from './storage-ready';

@Module({})
class AllInOneModule {
  static forRoot(config: BerthConfig, driver: StorageDriver, bus: InProcessBus, metrics: Metrics): DynamicModule {
    const board = new InProcessHealthBoard();
    const links = linkCacheOf(config);
    const readiness = [storageReadiness(driver), healthReadiness(board, config, false)];
    return {
      module: AllInOneModule,
      imports: [
        RuntimeModule.forRoot(config, driver, [
          { provide: METRICS, useValue: metrics },
          { provide: MANIFEST_CLIENT, useFactory: () => instrumentClient(new NestMessageClient(new InProcessClient(bus)), metrics) },
          { provide: UPLOAD_CLIENT, useFactory: () => instrumentClient(new NestMessageClient(new InProcessClient(bus)), metrics) },
          { provide: HEALTH_BOARD, useValue: board },
          { provide: LINK_CACHE, useValue: links === NO_LINK_CACHE ? links : instrumentLinkCache(links, metrics) },
          { provide: LOGIN_THROTTLE, useValue: loginThrottleOf(config) },
          { provide: JOB_SCHEDULER, useValue: new InProcessJobScheduler() },
          // berth.gc: collector and writers are this one process, so its memory is the fence.
          ...(config.berth.gc.enabled ? [{ provide: COLLECTION_FENCE, useValue: new InProcessCollectionFence() }] : []),
          { provide: DEBUG_LISTENER, useValue: new DebugListener({ addr: config.http.debug.addr, key: 'http.debug.addr' }, config, metrics, readiness, board) },
        ]),
        GatewayModule,
        UploadModule,
        ManifestModule,
        HealthModule,
      ],
    };
  }
}

/**
 * Runs the registry until SIGINT/SIGTERM: every service in this process over the in-process
 * bus (no Redis needed), or, with `service`, that one service talking to the others over Redis.
 * `source` names the configuration file in what serve refuses.
 */
export async function serve(config: BerthConfig, source: string, service?: ServiceName): Promise<void> {
  // Everything serve refuses is said before anything starts, in the words of `config check`.
  const metrics = new Metrics(config.http.debug.prometheus.enabled);
  const slowCalls = slowStorageLog(config.berth.log.slowstorage, new Logger('storage'));
  const observers = [...(metrics.enabled ? [metrics.observeDriver] : []), ...(slowCalls ? [slowCalls] : [])];
  const { driver: served, tls } = servable(config, source, service, observers);
  const logger = new BerthLogger(config.log);
  // Lines of the libraries before Nest starts (a Redis or storage still away) in the same form.
  Logger.overrideLogger(logger);
  // Off unless OTEL_TRACES_EXPORTER names an exporter (the SDK reads the rest of OTEL_*).
  const stopTracing = startTracing({
    exporters: process.env.OTEL_TRACES_EXPORTER,
    disabled: process.env.OTEL_SDK_DISABLED,
    serviceName: service === undefined ? 'berth' : `berth-${service}`,
  });
  // Spans end in batches: the last ones leave before the process does.
  process.once('beforeExit', () => void stopTracing());
  const driver = tracedDriver(served);
  await untilStorageAnswers(driver, logger);
  if (service !== undefined) return serveService(config, service, driver, logger, metrics, tls);

  const bus = new InProcessBus();
  const app = await NestFactory.create(AllInOneModule.forRoot(config, driver, bus, metrics), httpAdapter(config, tls), httpAppOptions(logger));
  app.connectMicroservice({ strategy: new InProcessServer(bus) });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await listenPublicly(app, config, logger);
}
