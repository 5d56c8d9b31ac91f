import type { HealthBoard, HealthReport } from '@berth/contracts';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';

export interface RedisHealthBoardOptions {
  /**
   * How long a report stands. A health service that died must not leave an "unhealthy"
   * behind for ever: once its last report expires, no report means healthy, as at start-up.
   */
  ttlMs: number;
  /** How long a reader reuses what it read: the gateway asks on every request. */
  cacheMs?: number;
}

/** The distributed mode's health board: the health service publishes, every gateway reads. */
export class RedisHealthBoard implements HealthBoard {
  private readonly key: string;
  private cached: { report: HealthReport | undefined; at: number } | undefined;
  private reading: Promise<HealthReport | undefined> | undefined;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly options: RedisHealthBoardOptions,
  ) {
    this.key = new BusKeys(keyPrefix).health();
  }

  async publish(report: HealthReport): Promise<void> {
    await this.redis.set(this.key, JSON.stringify(report), 'PX', this.options.ttlMs);
  }

  async current(): Promise<HealthReport | undefined> {
    if (this.cached && Date.now() - this.cached.at < (this.options.cacheMs ?? 1_000)) return this.cached.report;
    // Concurrent requests share one read.
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<HealthReport | undefined> {
    let report: HealthReport | undefined;
    try {
      const text = await this.redis.get(this.key);
      report = text === null ? undefined : (JSON.parse(text) as HealthReport);
    } catch {
      // Redis away says nothing about the storage: keep the last verdict.
      return this.cached?.report;
    }
    this.cached = { report, at: Date.now() };
    return report;
  }
}
