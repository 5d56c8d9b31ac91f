/**
 * The health service's verdict on the storage driver, as the gateway reads it.
 * (Distribution: `health.storagedriver` — `threshold` consecutive failed checks make the
 * registry answer 503 until a check succeeds again.)
 */
export interface HealthReport {
  healthy: boolean;
  checkedAt: string;
  checks: Record<string, { healthy: boolean; consecutiveFailures: number; lastError?: string }>;
}

/** Where reports are published and read: in process memory embedded, in Redis distributed. */
export interface HealthBoard {
  publish(report: HealthReport): Promise<void>;
  /** The latest report, or `undefined` when no check has run (which counts as healthy). */
  current(): Promise<HealthReport | undefined>;
}

export const HEALTH_BOARD = Symbol('HEALTH_BOARD');

/** The storage probes' check names (`berth.health.storageprobe`): what the gate's read-only policy tells apart. */
export const WRITE_PROBE_CHECK = 'berth_writeprobe';
export const READ_PROBE_CHECK = 'berth_readprobe';

/**
 * What the gateway refuses under `report`: nothing, pushes only (only the write probe fails and
 * `readonlyonfailure` is set), or everything (the reference's 503 for any failing check). No
 * report (none yet, or the health service's last one expired) refuses nothing.
 */
export function refusalOf(report: HealthReport | undefined, readonlyOnFailure: boolean): 'none' | 'writes' | 'all' {
  if (report === undefined || report.healthy) return 'none';
  if (!readonlyOnFailure) return 'all';
  const failing = Object.entries(report.checks).filter(([, check]) => !check.healthy);
  return failing.every(([name]) => name === WRITE_PROBE_CHECK) ? 'writes' : 'all';
}
