import { type DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InProcessBus, InProcessClient, InProcessHealthBoard, InProcessServer, NestMessageClient } from '@berth/bus';
import { BERTH_CONFIG, type BerthConfig, ConfigError, storageDriverOf } from '@berth/config';
import { HEALTH_BOARD, MANIFEST_CLIENT, UPLOAD_CLIENT } from '@berth/contracts';
import { GatewayModule } from '@berth/gateway';
import { HealthModule } from '@berth/health';
import { ManifestModule } from '@berth/manifest';
import { createStorageDriver, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { UploadModule } from '@berth/upload';
import { JsonLogger } from './json-logger';
import { parseListenAddress } from './listen-address';

/**
 * What every service is given: the validated configuration, the one storage driver, and
 * the clients through which services call each other (here over the in-process bus).
 */
@Global()
@Module({})
class RuntimeModule {
  static forRoot(config: BerthConfig, driver: StorageDriver, bus: InProcessBus): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        { provide: BERTH_CONFIG, useValue: config },
        { provide: STORAGE_DRIVER, useValue: driver },
        { provide: MANIFEST_CLIENT, useFactory: () => new NestMessageClient(new InProcessClient(bus)) },
        { provide: UPLOAD_CLIENT, useFactory: () => new NestMessageClient(new InProcessClient(bus)) },
        { provide: HEALTH_BOARD, useValue: new InProcessHealthBoard() },
      ],
      exports: [BERTH_CONFIG, STORAGE_DRIVER, MANIFEST_CLIENT, UPLOAD_CLIENT, HEALTH_BOARD],
    };
  }
}

@Module({})
class AllInOneModule {
  static forRoot(config: BerthConfig, driver: StorageDriver, bus: InProcessBus): DynamicModule {
    return {
      module: AllInOneModule,
      imports: [RuntimeModule.forRoot(config, driver, bus), GatewayModule, UploadModule, ManifestModule, HealthModule],
    };
  }
}

/** Runs every service in this process and listens on `http.addr` until SIGINT/SIGTERM. */
export async function serve(config: BerthConfig): Promise<void> {
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
  const logger = new JsonLogger(config.log);
  const bus = new InProcessBus();
  // Blob bodies are streams: no body parser may read them into memory.
  const app = await NestFactory.create(AllInOneModule.forRoot(config, driver, bus), { bodyParser: false, logger });
  // Express's own ETag and banner have no place in registry answers.
  const express = app.getHttpAdapter().getInstance() as { set(key: string, value: unknown): void };
  express.set('etag', false);
  express.set('x-powered-by', false);
  app.connectMicroservice({ strategy: new InProcessServer(bus) });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  const { host, port } = parseListenAddress(config.http.addr);
  await (host === undefined ? app.listen(port) : app.listen(port, host));
  logger.log(`listening on ${host ?? '*'}:${port}`, 'berth');
}
