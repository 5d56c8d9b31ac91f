import type { ClientProxy } from '@nestjs/microservices';
import type { Contract, MessageClient } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { InProcessClient } from './in-process.transport';

/**
 * A typed `MessageClient` over any Nest client transport. With `timeoutMs`, a call that gets
 * no reply in time fails UNAVAILABLE (no replica took it); in-process calls need none.
 */
export class NestMessageClient<M extends Contract<M>> implements MessageClient<M> {
  constructor(
    private readonly proxy: ClientProxy,
    private readonly timeoutMs?: number,
  ) {}

  async send<P extends keyof M & string>(pattern: P, request: M[P]['request']): Promise<M[P]['reply']> {
    if (this.proxy instanceof InProcessClient && this.timeoutMs === undefined) {
      try {
        return await this.proxy.call(pattern, request);
      } catch (error) {
        throw OciError.fromWire(error);
      }
    }
    const reply = this.proxy.send<M[P]['reply']>(pattern, request);
    try {
      return await firstValueFrom(this.timeoutMs === undefined ? reply : reply.pipe(timeout(this.timeoutMs)));
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new OciError('UNAVAILABLE', `no reply to ${pattern} within ${this.timeoutMs} ms`);
      }
      throw OciError.fromWire(error);
    }
  }
}
