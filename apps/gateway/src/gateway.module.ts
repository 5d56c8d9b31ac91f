import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { registryStorageProvider } from '@berth/registry-storage';
import { AccessGuard } from './access-guard';
import { BlobHandler } from './blob.handler';
import { ListingHandler } from './listing.handler';
import { ManifestHandler } from './manifest.handler';
import { RegistryController } from './registry.controller';
import { RegistryUrls } from './registry-urls';
import { HealthGateMiddleware } from './health-gate.middleware';
import { RequestMetricsMiddleware } from './request-metrics.middleware';
import { ResponseHeadersMiddleware } from './response-headers.middleware';
import { TokenServiceHandler } from './token-service.handler';
import { UploadHandler } from './upload.handler';

/**
 * The only public listener: routes /v2/, validates, renders OCI errors, serves blob reads.
 * (Its debug listener, `/debug/health` on `http.debug.addr`, is the cli's: every process has one.)
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
    RequestMetricsMiddleware,
  ],
})
export class GatewayModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Metrics first, to count every answer; headers next: the 503 of the health gate carries them too.
    consumer.apply(RequestMetricsMiddleware, ResponseHeadersMiddleware, HealthGateMiddleware).forRoutes('*path');
  }
}
