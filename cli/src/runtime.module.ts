import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';

/**
 * What every service is given: the validated configuration, the one storage driver, and
 * whatever this process's services need from outside (the clients through which they call
 * each other, the health board), each provided under its token.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(config: BerthConfig, driver: StorageDriver, providers: (Provider & { provide: unknown })[]): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [{ provide: BERTH_CONFIG, useValue: config }, { provide: STORAGE_DRIVER, useValue: driver }, ...providers],
      exports: [BERTH_CONFIG, STORAGE_DRIVER, ...providers.map((provider) => provider.provide as string | symbol)],
    };
  }
}
