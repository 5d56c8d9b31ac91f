import { Module } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { UploadMessagesController } from './upload-messages.controller';
import { UploadSessionService } from './upload-session.service';
import { UPLOAD_SETTINGS, type UploadSettings } from './upload-settings';

/**
 * The upload service. Needs the composition root to provide, globally, the validated config
 * (`BERTH_CONFIG`) and the storage driver (`STORAGE_DRIVER`).
 */
@Module({
  controllers: [UploadMessagesController],
  providers: [
    UploadSessionService,
    {
      provide: UPLOAD_SETTINGS,
      inject: [BERTH_CONFIG],
      useFactory: (config: BerthConfig): UploadSettings => ({
        secret: config.http.secret,
        deleteEnabled: config.storage.delete?.enabled === true,
      }),
    },
  ],
})
export class UploadModule {}
