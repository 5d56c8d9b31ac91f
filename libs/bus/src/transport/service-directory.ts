import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';

/** One running instance of a service, as it announced itself. */
export interface ServiceInstance {
  id: string;
  /** `host:port` of its internal listener; empty for a service that has none. */
  address: string;
}

/**
 * Which instances of each service are alive: each one announces itself in a sorted set,
 * scored by when its announcement expires, and renews it every third of that. A killed
 * instance drops out after `ttlMs` without anyone cleaning up; one that stops in order
 * withdraws at once. Survives a FLUSHALL: the next heartbeat puts every live instance back.
 */
export class ServiceDirectory {
  private readonly keys: BusKeys;
  private readonly log = new Logger('directory');

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly ttlMs = 10_000,
  ) {
    this.keys = new BusKeys(keyPrefix);
  }

  /** Announces `instance` until the returned function is called (which withdraws it). */
  async announce(service: string, instance: ServiceInstance): Promise<() => Promise<void>> {
    const key = this.keys.instances(service);
    const member = JSON.stringify(instance);
    const beat = async (): Promise<void> => {
      const now = Date.now();
      await this.redis.multi().zadd(key, now + this.ttlMs, member).zremrangebyscore(key, '-inf', now).exec();
    };
    await beat();
    const timer = setInterval(() => {
      beat().catch((error: unknown) => this.log.warn(`heartbeat of ${service} ${instance.id} failed: ${(error as Error).message}`));
    }, Math.max(100, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.redis.zrem(key, member).catch(() => undefined);
    };
  }

  /** The instances of `service` whose announcement has not expired. */
  async list(service: string): Promise<ServiceInstance[]> {
    const members = await this.redis.zrangebyscore(this.keys.instances(service), Date.now(), '+inf');
    return members.flatMap((member) => {
      try {
        const parsed = JSON.parse(member) as Partial<ServiceInstance>;
        return typeof parsed.id === 'string' && typeof parsed.address === 'string' ? [{ id: parsed.id, address: parsed.address }] : [];
      } catch {
        return [];
      }
    });
  }

  /** Resolves once `service` has at least `count` live instances; for start-up and tests. */
  async waitFor(service: string, count: number, timeoutMs: number): Promise<ServiceInstance[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const instances = await this.list(service);
      if (instances.length >= count) return instances;
      if (Date.now() > deadline) {
        throw new Error(`${service}: ${instances.length} of ${count} instances announced within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
