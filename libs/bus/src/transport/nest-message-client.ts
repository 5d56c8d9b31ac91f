import type { Contract, MessageClient } from '@berth/contracts';
import { OciError } from '@berth/oci';
import type { InProcessClient } from './in-process-transport';
import type { RedisQueueClient } from './redis-queue-client';

/**
 * A typed `MessageClient` over berth's Nest client transports: the in-process one (all in one
 * process) or the Redis queues (services apart, which answer UNAVAILABLE when no replica
 * replies in time). Both answer with a promise, so a call builds no RxJS chain.
 */
export class NestMessageClient<M extends Contract<M>> implements MessageClient<M> {
  constructor(private readonly proxy: InProcessClient | RedisQueueClient) {}

  async send<P extends keyof M & string>(pattern: P, request: M[P]['request']): Promise<M[P]['reply']> {
    try {
      return await this.proxy.call(pattern, request);
    } catch (error) {
      throw OciError.fromWire(error);
    }
  }
}
