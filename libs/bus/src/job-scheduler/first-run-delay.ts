const HOUR_MS = 3_600_000;

/**
 * A random part of the first interval, at most an hour: the reference starts its upload purger
 * after a random 0–59 minutes (registry/handlers/app.go), so that registries restarted together
 * do not all walk the storage at once. Capped by the interval, so a short one (tests) runs soon.
 */
export function firstRunDelayMs(intervalMs: number): number {
  return Math.floor(Math.random() * Math.min(intervalMs, HOUR_MS));
}
