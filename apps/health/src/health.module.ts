import { Module } from '@nestjs/common';
import { StorageHealthService } from './storage-health.service';

/**
 * Runs the checks `health:` names and publishes the verdict on the HEALTH_BOARD.
 * Needs, from the composition root: BERTH_CONFIG, STORAGE_DRIVER, HEALTH_BOARD.
 */
@Module({ providers: [StorageHealthService] })
export class HealthModule {}
