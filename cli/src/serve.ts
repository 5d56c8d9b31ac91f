import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InProcessBus, InProcessClient, InProcessHealthBoard, InProcessJobScheduler, InProcessServer, linkCacheOf, loginThrottleOf, NestMessageClient } from '@berth/bus';
import type { BerthConfig } from '@berth/config';
import { HEALTH_BOARD, JOB_SCHEDULER, LINK_CACHE, LOGIN_THROTTLE, MANIFEST_CLIENT, UPLOAD_CLIENT } from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { ManifestModule } from '@berth/manifest';
import type { StorageDriver } from '@berth/storage-driver';
import { UploadModule } from '@berth/upload';
import { httpAdapter } from './http-platform';
import { JsonLogger } from './json-logger';
import { listenPublicly } from './public-listener';
import { RuntimeModule } from './runtime.module';
import { servable } from './servable';
import { type ServiceName, serveService } from './serve-service';
import { untilStorageAnswers } from './storage-ready';

@Module({})
class AllInOneModule {
  static forRoot(config: BerthConfig, driver: StorageDriver, bus: InProcessBus): DynamicModule {
    return {
      module: AllInOneModule,
      imports: [
        RuntimeModule.forRoot(config, driver, [
          { provide: MANIFEST_CLIENT, useFactory: () => new NestMessageClient(new InProcessClient(bus)) },
          { provide: UPLOAD_CLIENT, useFactory: () => new NestMessageClient(new InProcessClient(bus)) },
          { provide: HEALTH_BOARD, useValue: new InProcessHealthBoard() },
          { provide: LINK_CACHE, useValue: linkCacheOf(config) },
          { provide: LOGIN_THROTTLE, useValue: loginThrottleOf(config) },
          { provide: JOB_SCHEDULER, useValue: new InProcessJobScheduler() },
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
  const { driver, tls } = servable(config, source, service);
  const logger = new JsonLogger(config.log);
  // Lines of the libraries before Nest starts (a Redis or storage still away) in the same form.
  Logger.overrideLogger(logger);
  await untilStorageAnswers(driver, logger);
  if (service !== undefined) return serveService(config, service, driver, logger, tls);

  const bus = new InProcessBus();
  const app = await NestFactory.create(AllInOneModule.forRoot(config, driver, bus), httpAdapter(config, tls), { logger });
  app.connectMicroservice({ strategy: new InProcessServer(bus) });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await listenPublicly(app, config, logger);
}
