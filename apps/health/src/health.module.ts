import { Module } from '@nestjs/common';
import { HealthChecksService } from './health-checks.service';

/**
 * Runs the checks `health:` names and publishes the verdict on the HEALTH_BOARD.
 * Needs, from the composition root: BERTH_CONFIG, STORAGE_DRIVER, HEALTH_BOARD.
 */
@Module({ providers: [HealthChecksService] })
export class HealthModule {}
