import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { HEALTH_BOARD, type HealthBoard, type HealthReport } from '@berth/contracts';
import { METRICS, type Metrics, noMetrics } from '@berth/metrics';
import { STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { configuredChecks, type HealthCheck } from './health-checks';

interface CheckState {
  consecutiveFailures: number;
  lastError?: string;
  running: boolean;
}

/**
 * Runs each check of `health:` every its own `interval`; one that failed `threshold` times in
 * a row is unhealthy until it passes again, and the registry is healthy while all are
 * (Distribution registry/handlers/app.go). After every run the whole verdict is published on
 * the board, which the gateway's 503 gate and `/debug/health` read.
 */
@Injectable()
export class HealthChecksService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('health');
  private readonly checks: HealthCheck[];
  private readonly states = new Map<HealthCheck, CheckState>();
  private readonly timers = new Map<HealthCheck, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    @Inject(STORAGE_DRIVER) driver: StorageDriver,
    @Inject(HEALTH_BOARD) private readonly board: HealthBoard,
    @Inject(BERTH_CONFIG) config: BerthConfig,
    @Optional() @Inject(METRICS) private readonly metrics: Metrics = noMetrics,
  ) {
    this.checks = configuredChecks(config, driver);
    for (const check of this.checks) this.states.set(check, { consecutiveFailures: 0, running: false });
  }

  onApplicationBootstrap(): void {
    for (const check of this.checks) this.schedule(check, 0);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
  }

  /** Every check once, then the verdict published and returned. */
  async check(): Promise<HealthReport> {
    for (const check of this.checks) await this.run(check);
    return this.publish();
  }

  /**
   * Runs `check` after `delayMs`, then once per interval counted from each run's start. A run
   * that took its whole interval (a backend that never answers, given up at the interval) is
   * followed at once, as Go's ticker in the reference does, so that `threshold` such runs
   * take `threshold` intervals rather than skipping every other tick.
   */
  private schedule(check: HealthCheck, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      const startedAt = Date.now();
      void this.runAndPublish(check).then(() => this.schedule(check, Math.max(0, check.intervalMs - (Date.now() - startedAt))));
    }, delayMs);
    this.timers.set(check, timer);
  }

  /** From a timer: never throws (a board that cannot be written, Redis down, is logged). */
  private async runAndPublish(check: HealthCheck): Promise<void> {
    if (this.states.get(check)!.running) return;
    await this.run(check);
    await this.publish().catch((error: unknown) => this.logger.warn(`the health report was not published: ${(error as Error).message}`));
  }

  private async run(check: HealthCheck): Promise<void> {
    const state = this.states.get(check)!;
    const wasHealthy = state.consecutiveFailures < check.threshold;
    state.running = true;
    const startedAt = performance.now();
    try {
      await check.run();
      state.consecutiveFailures = 0;
      delete state.lastError;
    } catch (error) {
      state.consecutiveFailures++;
      state.lastError = error instanceof Error ? error.message : String(error);
    } finally {
      state.running = false;
      if (this.metrics.enabled) this.metrics.healthSeconds.labels(check.name).set((performance.now() - startedAt) / 1000);
    }
    const healthy = state.consecutiveFailures < check.threshold;
    if (wasHealthy === healthy) return;
    if (healthy) this.logger.log(`${check.name} healthy again`);
    else this.logger.error(`${check.name} failed ${state.consecutiveFailures} times: ${state.lastError ?? ''}`);
  }

  private async publish(): Promise<HealthReport> {
    const checks: HealthReport['checks'] = {};
    for (const check of this.checks) {
      const { consecutiveFailures, lastError } = this.states.get(check)!;
      checks[check.name] = { healthy: consecutiveFailures < check.threshold, consecutiveFailures, ...(lastError !== undefined ? { lastError } : {}) };
      if (this.metrics.enabled) {
        this.metrics.healthCheck.labels(check.name).set(consecutiveFailures < check.threshold ? 1 : 0);
        this.metrics.healthFailures.labels(check.name).set(consecutiveFailures);
      }
    }
    const report: HealthReport = { healthy: Object.values(checks).every((check) => check.healthy), checkedAt: new Date().toISOString(), checks };
    await this.board.publish(report);
    return report;
  }
}
