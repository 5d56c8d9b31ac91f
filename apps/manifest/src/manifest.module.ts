import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { ManifestMessagesController } from './manifest-messages.controller';
import { ManifestReader } from './manifest-reader.service';
import { ManifestStore } from './manifest-store.service';
import { ReferrersService } from './referrers.service';
import { TagIndex } from './tag-index.service';

/**
 * Manifests, tags, the catalog and referrers, answered as `ManifestMessages`.
 * Needs, from the composition root: BERTH_CONFIG, STORAGE_DRIVER; LINK_CACHE when
 * `storage.cache.blobdescriptor` is set (without it every read goes to storage).
 */
@Module({
  controllers: [ManifestMessagesController],
  providers: [ManifestStore, ManifestReader, TagIndex, CatalogService, ReferrersService],
})
export class ManifestModule {}
