import { Module } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { referenceGuardProvider } from '@berth/garbage-collection';
import { registryStorageProvider } from '@berth/registry-storage';
import { GARBAGE_COLLECTION_SETTINGS, GarbageCollectionSchedule, type GarbageCollectionSettings } from './garbage-collection-schedule';
import { UploadMessagesController } from './upload-messages.controller';
import { UploadPurgeSchedule } from './upload-purge-schedule';
import { UploadPurger } from './upload-purger';
import { UploadSessionService } from './upload-session.service';
import { UPLOAD_PURGING_SETTINGS, UPLOAD_SETTINGS, type UploadPurgingSettings, type UploadSettings } from './upload-settings';

/**
 * The upload service. Needs the composition root to provide, globally, the validated config
 * (`BERTH_CONFIG`), the storage driver (`STORAGE_DRIVER`) and the scheduler of cluster-wide
 * jobs (`JOB_SCHEDULER`: in-process, or BullMQ on Redis), which runs upload purging and online
 * garbage collection; `LINK_CACHE` when `storage.cache.blobdescriptor` is set; and
 * `COLLECTION_FENCE` when `berth.gc.enabled` (blob commits and mounts go through it).
 */
@Module({
  controllers: [UploadMessagesController],
  providers: [
    registryStorageProvider,
    referenceGuardProvider,
    UploadSessionService,
    UploadPurger,
    UploadPurgeSchedule,
    GarbageCollectionSchedule,
    {
      provide: GARBAGE_COLLECTION_SETTINGS,
      inject: [BERTH_CONFIG],
      useFactory: (config: BerthConfig): GarbageCollectionSettings => {
        const { enabled, interval, reviewdelay, dryrun, deleteuntagged } = config.berth.gc;
        return { enabled, intervalMs: interval, reviewDelayMs: reviewdelay, dryRun: dryrun, deleteUntagged: deleteuntagged };
      },
    },
    {
      provide: UPLOAD_SETTINGS,
      inject: [BERTH_CONFIG],
      useFactory: (config: BerthConfig): UploadSettings => ({
        secret: config.http.secret,
        deleteEnabled: config.storage.delete?.enabled === true,
      }),
    },
    {
      provide: UPLOAD_PURGING_SETTINGS,
      inject: [BERTH_CONFIG],
      useFactory: (config: BerthConfig): UploadPurgingSettings => {
        const { enabled, age, interval, dryrun } = config.storage.maintenance.uploadpurging;
        return { enabled, ageMs: age, intervalMs: interval, dryRun: dryrun };
      },
    },
  ],
})
export class UploadModule {}
