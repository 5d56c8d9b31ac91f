import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { HEALTH_BOARD, type HealthBoard, type HealthReport } from '@berth/contracts';
import { PathNotFoundError, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';

/**
 * `health.storagedriver`: stats the driver's root every `interval`; after `threshold`
 * consecutive failures the registry is unhealthy until the next good check
 * (Distribution registry/handlers/app.go). An empty storage (root not found) is healthy:
 * the backend answered.
 */
@Injectable()
export class StorageHealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('health');
  private readonly settings: { enabled: boolean; intervalMs: number; threshold: number };
  private readonly checkName: string;
  private consecutiveFailures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    @Inject(HEALTH_BOARD) private readonly board: HealthBoard,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    const { enabled, interval, threshold } = config.health.storagedriver;
    this.settings = { enabled, intervalMs: interval, threshold };
    this.checkName = `storagedriver_${driver.name}`;
  }

  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    this.timer = setInterval(() => void this.check(), this.settings.intervalMs);
    void this.check();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One check, published. Never throws: a failure is a result. */
  async check(): Promise<HealthReport> {
    let lastError: string | undefined;
    try {
      await this.driver.stat('/');
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) lastError = error instanceof Error ? error.message : String(error);
    }
    const wasHealthy = this.consecutiveFailures < this.settings.threshold;
    this.consecutiveFailures = lastError === undefined ? 0 : this.consecutiveFailures + 1;
    const healthy = this.consecutiveFailures < this.settings.threshold;
    if (wasHealthy !== healthy) {
      if (healthy) this.logger.log(`${this.checkName} healthy again`);
      else this.logger.error(`${this.checkName} failed ${this.consecutiveFailures} times: ${lastError ?? ''}`);
    }
    const report: HealthReport = {
      healthy,
      checkedAt: new Date().toISOString(),
      checks: {
        [this.checkName]: {
          healthy,
          consecutiveFailures: this.consecutiveFailures,
          ...(lastError !== undefined ? { lastError } : {}),
        },
      },
    };
    await this.board.publish(report);
    return report;
  }
}
