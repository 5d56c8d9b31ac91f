import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InProcessBus, InProcessClient, InProcessHealthBoard, InProcessJobScheduler, InProcessServer, linkCacheOf, NestMessageClient } from '@berth/bus';
import { type BerthConfig, ConfigError, storageDriverOf } from '@berth/config';
import { HEALTH_BOARD, JOB_SCHEDULER, LINK_CACHE, MANIFEST_CLIENT, UPLOAD_CLIENT } from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { ManifestModule } from '@berth/manifest';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { UploadModule } from '@berth/upload';
import { httpAdapter } from './http-platform';
import { JsonLogger } from './json-logger';
import { listenPublicly } from './public-listener';
import { RuntimeModule } from './runtime.module';
import { type ServiceName, serveService } from './serve-service';

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
 */
export async function serve(config: BerthConfig, service?: ServiceName): Promise<void> {
  if (config.auth !== undefined) {
    // Serving without the authentication the file asks for would open the registry to all.
    throw new ConfigError([
      {
        source: 'config',
        key: 'auth',
        message: 'authentication is not enforced by this version of berth yet; remove the auth section to serve without it',
      },
    ]);
  }
  // Built before Nest: a driver that cannot be made is the operator's error, said in one line.
  const { name, params } = storageDriverOf(config);
  const driver = createStorageDriver(name, params);
  await driver.ready?.();
  const logger = new JsonLogger(config.log);
  if (service !== undefined) return serveService(config, service, driver, logger);

  const bus = new InProcessBus();
  const app = await NestFactory.create(AllInOneModule.forRoot(config, driver, bus), httpAdapter(config), { logger });
  app.connectMicroservice({ strategy: new InProcessServer(bus) });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await listenPublicly(app, config, logger);
}
