import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { registryStorageProvider } from '@berth/registry-storage';
import { AccessGuard } from './access-guard';
import { BlobHandler } from './blob.handler';
import { DebugListener } from './debug-listener';
import { ListingHandler } from './listing.handler';
import { ManifestHandler } from './manifest.handler';
import { RegistryController } from './registry.controller';
import { RegistryUrls } from './registry-urls';
import { HealthGateMiddleware } from './health-gate.middleware';
import { ResponseHeadersMiddleware } from './response-headers.middleware';
import { TokenServiceHandler } from './token-service.handler';
import { UploadHandler } from './upload.handler';

/**
 * The only public listener: routes /v2/, validates, renders OCI errors, serves blob reads;
 * and `/debug/health` on `http.debug.addr` when set.
 * Needs, from the composition root: BERTH_CONFIG, STORAGE_DRIVER, MANIFEST_CLIENT, UPLOAD_CLIENT,
 * HEALTH_BOARD, LOGIN_THROTTLE; LINK_CACHE when `storage.cache.blobdescriptor` is set.
 */
@Module({
  controllers: [RegistryController],
  providers: [
    registryStorageProvider,
    AccessGuard,
    TokenServiceHandler,
    ResponseHeadersMiddleware,
    HealthGateMiddleware,
    RegistryUrls,
    BlobHandler,
    UploadHandler,
    ManifestHandler,
    ListingHandler,
    DebugListener,
  ],
})
export class GatewayModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Headers first: the 503 of the health gate carries them too.
    consumer.apply(ResponseHeadersMiddleware, HealthGateMiddleware).forRoutes('*path');
  }
}
