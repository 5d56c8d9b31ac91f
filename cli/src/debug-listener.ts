import { type BeforeApplicationShutdown, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { type HealthBoard, refusalOf } from '@berth/contracts';
import { DebugServer, type Metrics, type ReadinessCheck } from '@berth/metrics';
import { pathExists, type StorageDriver } from '@berth/storage-driver';

/** The token of the provider that runs this process's debug listener with the app. */
export const DEBUG_LISTENER = Symbol('DEBUG_LISTENER');

/**
 * This process's debug listener, started with the app (a taken address stops start-up with
 * one line, exit code 1) and closed first at shut-down. None when its address is unset.
 */
export class DebugListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server: DebugServer | undefined;

  constructor(addr: { addr: string | undefined; key: string }, config: BerthConfig, metrics: Metrics, readiness: ReadinessCheck[], board?: HealthBoard) {
    if (addr.addr === undefined) return;
    const { enabled, path } = config.http.debug.prometheus;
    this.server = new DebugServer({
      addr: addr.addr,
      key: addr.key,
      metrics,
      prometheusPath: enabled ? path : undefined,
      readiness,
      ...(board ? { board } : {}),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.server === undefined) return;
    await this.server.start();
    // The bound address: with port 0 (one file for many instances) the log says which it got.
    new Logger('debug').log(`debug server listening on ${this.server.address ?? ''}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.stop();
  }
}

/** `/readyz`'s storage check: the backend answers a stat of the root (as `health.storagedriver`). */
export function storageReadiness(driver: StorageDriver): ReadinessCheck {
  return { name: 'storage', check: () => pathExists(driver, '/').then(() => undefined) };
}

/** `/readyz`'s health check: the gateway is not refusing every request (a push-only refusal still serves pulls). */
export function healthReadiness(board: HealthBoard, config: BerthConfig, required: boolean): ReadinessCheck {
  return {
    name: 'health',
    check: async () => {
      const report = await board.current();
      if (report === undefined) {
        // The health service stopped publishing (its last report expired) or never started.
        if (required) throw new Error('no health report: the health service is not publishing');
        return;
      }
      if (refusalOf(report, config.berth.health.storageprobe.readonlyonfailure) === 'all') {
        const failing = Object.entries(report.checks).filter(([, check]) => !check.healthy);
        throw new Error(`health checks fail: ${failing.map(([name, check]) => `${name}: ${check.lastError ?? 'unhealthy'}`).join('; ')}`);
      }
    },
  };
}

/** Whether any of `health:`'s checks runs, so that a report is to be expected. */
export function healthChecksConfigured(config: BerthConfig): boolean {
  const { storagedriver, file, http, tcp } = config.health;
  return storagedriver.enabled || config.berth.health.storageprobe.enabled || file.length + http.length + tcp.length > 0;
}
