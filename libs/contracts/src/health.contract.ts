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
