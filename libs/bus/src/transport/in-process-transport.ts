import { type CustomTransportStrategy, ClientProxy, type ReadPacket, Server, type WritePacket } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';

type Handler = (data: unknown) => Promise<unknown>;

/**
 * The embedded mode's message bus: one process, handlers called directly. Payloads are
 * passed by reference, which is what lets a `Readable` body reach the upload service
 * without a copy; errors are still rendered to their wire form by the services'
 * exception filter, so callers see the same failures in both modes.
 */
export class InProcessBus {
  private readonly handlers = new Map<string, Handler>();

  register(pattern: string, handler: Handler): void {
    if (this.handlers.has(pattern)) throw new Error(`two handlers for message "${pattern}"`);
    this.handlers.set(pattern, handler);
  }

  async call(pattern: string, data: unknown): Promise<unknown> {
    const handler = this.handlers.get(pattern);
    if (!handler) throw new Error(`no handler for message "${pattern}" in this process`);
    return handler(data);
  }
}

/** Registers a service's `@MessagePattern` handlers on the bus. */
export class InProcessServer extends Server implements CustomTransportStrategy {
  constructor(private readonly bus: InProcessBus) {
    super();
  }

  listen(callback: () => void): void {
    for (const [pattern, handler] of this.getHandlers()) {
      this.bus.register(pattern, async (data) => {
        const result: unknown = await handler(data);
        return isObservable(result) ? lastValueFrom(result) : result;
      });
    }
    callback();
  }

  close(): void {}

  on(): void {}

  unwrap<T>(): T {
    return this.bus as T;
  }
}

/** A Nest client whose `send` calls the handler registered on the bus. */
export class InProcessClient extends ClientProxy {
  constructor(private readonly bus: InProcessBus) {
    super();
  }

  async connect(): Promise<void> {}

  close(): void {}

  unwrap<T>(): T {
    return this.bus as T;
  }

  /**
   * The reply as a promise, without `send`'s observable: the same handler, filters and wire
   * errors, minus the RxJS subscription chain that `ClientProxy.send` builds per call.
   */
  call(pattern: string, data: unknown): Promise<unknown> {
    return this.bus.call(this.normalizePattern(pattern), data);
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    this.bus.call(this.normalizePattern(packet.pattern as string), packet.data).then(
      (response) => callback({ response, isDisposed: true }),
      (err: unknown) => callback({ err, isDisposed: true }),
    );
    return () => {};
  }

  protected async dispatchEvent<T>(packet: ReadPacket): Promise<T> {
    return (await this.bus.call(this.normalizePattern(packet.pattern as string), packet.data)) as T;
  }
}
