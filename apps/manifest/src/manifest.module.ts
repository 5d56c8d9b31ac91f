import { Module } from '@nestjs/common';
import { referenceGuardProvider } from '@berth/garbage-collection';
import { registryStorageProvider } from '@berth/registry-storage';
import { CatalogService } from './catalog.service';
import { ManifestMessagesController } from './manifest-messages.controller';
import { ManifestReader } from './manifest-reader.service';
import { ManifestStore } from './manifest-store.service';
import { ReferrersService } from './referrers.service';
import { TagListService } from './tag-list.service';

/**
 * Manifests, tags, the catalog and referrers, answered as `ManifestMessages`.
 * Needs, from the composition root: BERTH_CONFIG, STORAGE_DRIVER; LINK_CACHE when
 * `storage.cache.blobdescriptor` is set (without it every read goes to storage); COLLECTION_FENCE
 * when `berth.gc.enabled` (manifest PUTs go through it).
 */
@Module({
  controllers: [ManifestMessagesController],
  providers: [registryStorageProvider, referenceGuardProvider, ManifestStore, ManifestReader, TagListService, CatalogService, ReferrersService],
})
export class ManifestModule {}
