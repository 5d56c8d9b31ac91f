import type { LoginThrottle, LoginThrottleLimits } from '@berth/contracts';

/** The most keys counted at once: past it the oldest are forgotten, so a flood of made-up names cannot fill memory. */
const MAX_KEYS = 100_000;

/** Failed logins counted in this process: all services in one process, one gateway. */
export class InProcessLoginThrottle implements LoginThrottle {
  private readonly failures = new Map<string, { count: number; endsAt: number }>();

  constructor(private readonly limits: LoginThrottleLimits) {}

  async blockedFor(keys: readonly string[]): Promise<number> {
    const now = Date.now();
    let blocked = 0;
    for (const key of keys) {
      const entry = this.live(key, now);
      if (entry !== undefined && entry.count >= this.limits.limit) blocked = Math.max(blocked, entry.endsAt - now);
    }
    return blocked;
  }

  async failed(keys: readonly string[]): Promise<number> {
    const now = Date.now();
    let highest = 0;
    for (const key of keys) {
      const entry = this.live(key, now) ?? { count: 0, endsAt: now + this.limits.windowMs };
      entry.count += 1;
      this.failures.delete(key);
      if (this.failures.size >= MAX_KEYS) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(key, entry);
      highest = Math.max(highest, entry.count);
    }
    return highest;
  }

  async succeeded(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.failures.delete(key);
  }

  private live(key: string, now: number): { count: number; endsAt: number } | undefined {
    const entry = this.failures.get(key);
    if (entry === undefined || entry.endsAt > now) return entry;
    this.failures.delete(key);
    return undefined;
  }
}
