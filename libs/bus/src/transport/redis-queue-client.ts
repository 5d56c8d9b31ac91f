import { randomUUID } from 'node:crypto';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { Logger } from '@nestjs/common';
import { OciError } from '@berth/oci';
import { carrierOf, inSpan, SpanKind } from '@berth/telemetry';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import { LuaScript } from '../redis/lua-script';
import { openRedis, type RedisSettings } from '../redis/redis-connection';
import { isStreamed, parseReply, type RequestEnvelope } from './redis-queue-envelope';

export interface RedisQueueClientOptions {
  /** How long a request may wait for a replica (`berth.bus.requesttimeout`); stamped on it as its deadline. */
  timeoutMs: number;
}

/**
 * Adds a request (ARGV[1]) to its queue (KEYS[1], a stream), trimming the entries older than a
 * request's wait (ARGV[3], the oldest id still awaited): their callers have given up. A queue that
 * no replica serves yet (no consumer group) lives no longer than its newest request's wait
 * (ARGV[2], ms), so it empties itself; NX then GT: set on a new queue, only ever extended after.
 * One script, atomic as MULTI was, at half the caller's CPU per request (one command for ioredis
 * to build and answer instead of five).
 */
/**
 * How long a request waits for its reply channel to be subscribed again after the connection broke:
 * Redis's connections come back one by one, each on its own back-off (2 s at most, redis-connection.ts).
 */
const RESUBSCRIBE_WAIT_MS = 2_000;

const ENQUEUE_SCRIPT = new LuaScript(`
redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[3], '*', 'm', ARGV[1])
if #redis.call('XINFO', 'GROUPS', KEYS[1]) == 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT')
end`);

/**
 * The caller's side of {@link RedisQueueServer}: adds each request to its pattern's queue
 * and takes the reply from a channel of its own: the first one, as a request taken over from a
 * replica that stalled may be answered twice. It answers UNAVAILABLE when no reply came
 * within `timeoutMs` (no replica took the request in time), and at once when the request
 * cannot even be queued, or when the reply channel broke while it waited (Redis restarted:
 * a reply published meanwhile is gone). A request is queued only while the channel is subscribed:
 * a reply published to a channel nobody listens on is lost, and its caller would wait its timeout.
 */
export class RedisQueueClient extends ClientProxy {
  private readonly keys: BusKeys;
  private readonly clientId = randomUUID();
  private readonly replyChannel: string;
  private readonly pending = new Map<string, (packet: WritePacket) => void>();
  private commands: Redis | undefined;
  private subscriber: Redis | undefined;
  /** Whether the reply channel is subscribed now; while it is not, requests wait for {@link resubscribed}. */
  private subscribed = false;
  private resubscribed: { promise: Promise<void>; resolve: () => void } = deferred();
  private readonly log = new Logger('bus');
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly settings: RedisSettings,
    private readonly options: RedisQueueClientOptions,
  ) {
    super();
    this.keys = new BusKeys(settings.keyPrefix);
    this.replyChannel = this.keys.replies(this.clientId);
  }

  connect(): Promise<void> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  async close(): Promise<void> {
    this.failPending('the client closed');
    await Promise.allSettled([this.subscriber?.quit(), this.commands?.quit()]);
  }

  unwrap<T>(): T {
    return this.commands as T;
  }

  /**
   * The reply as a promise, without `send`'s observable: the RxJS chain `ClientProxy.send`
   * builds for every call was about a fifth of the gateway's CPU for a manifest HEAD.
   */
  async call(pattern: string, data: unknown): Promise<unknown> {
    await this.connect();
    return inSpan(`send ${pattern}`, SpanKind.CLIENT, { 'messaging.destination.name': pattern }, () => this.request(pattern, data));
  }

  private request(pattern: string, data: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stopWaiting();
        const service = serviceOf(pattern);
        // Which service and message did not answer: what an operator needs to find the one down.
        this.log.warn({ msg: `no reply from the ${service} service to ${pattern}`, 'bus.service': service, 'bus.message': pattern, 'bus.timeout': `${this.options.timeoutMs}ms` });
        reject(unavailable(`the ${service} service did not answer ${pattern} within ${seconds(this.options.timeoutMs)}: is any ${service} instance running?`));
      }, this.options.timeoutMs);
      const stopWaiting = this.publish({ pattern, data }, ({ err, response }) => {
        clearTimeout(timer);
        if (err !== undefined && err !== null) reject(OciError.fromWire(err));
        else resolve(response);
      });
    });
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = this.normalizePattern(packet.pattern as string);
    const id = randomUUID();
    this.pending.set(id, callback);
    const envelope: RequestEnvelope = {
      id,
      pattern,
      data: packet.data,
      replyTo: this.replyChannel,
      deadline: Date.now() + this.options.timeoutMs,
      meta: carrierOf(),
    };
    const queued = this.subscribed ? this.enqueue(envelope) : this.whenSubscribed(pattern).then(() => this.enqueue(envelope));
    queued.catch((error: unknown) => {
      // Redis's own words (which may name its address) stay in the log.
      if (!(error instanceof OciError)) this.log.warn({ msg: `cannot queue ${pattern}: ${(error as Error).message}`, 'bus.message': pattern });
      this.settle(id, { err: error instanceof OciError ? error : unavailable(`cannot send ${pattern} to the ${serviceOf(pattern)} service: Redis does not answer`), isDisposed: true });
    });
    // Called when the caller stops waiting (timeout, unsubscribe): a late reply is then ignored.
    return () => this.pending.delete(id);
  }

  protected async dispatchEvent<T>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern as string);
    await this.enqueue({ id: randomUUID(), pattern, data: packet.data, replyTo: '', deadline: Date.now() + this.options.timeoutMs, meta: carrierOf() });
    return undefined as T;
  }

  private async open(): Promise<void> {
    this.commands = openRedis(this.settings, 'command', `client:${this.clientId}`);
    this.subscriber = openRedis(this.settings, 'subscriber', `client-replies:${this.clientId}`);
    this.subscriber.on('message', (_channel: string, message: string) => this.onReply(message));
    // What was published while the connection was down is lost: the requests waiting for it fail now.
    this.subscriber.on('close', () => {
      this.subscribed = false;
      this.failPending('the connection to Redis broke while waiting for the reply');
    });
    // Subscribed here rather than by ioredis's autoResubscribe, which says 'ready' before its SUBSCRIBE is answered.
    this.subscriber.on('ready', () => {
      this.subscriber!.subscribe(this.replyChannel).then(
        () => {
          this.subscribed = true;
          this.resubscribed.resolve();
          this.resubscribed = deferred();
        },
        // The connection broke again: its next 'ready' subscribes.
        () => undefined,
      );
    });
    await this.resubscribed.promise;
  }

  /** Resolves once the reply channel is subscribed again; fails after {@link RESUBSCRIBE_WAIT_MS}, Redis still away. */
  private async whenSubscribed(pattern: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(unavailable(`cannot send ${pattern} to the ${serviceOf(pattern)} service: Redis does not answer`)), RESUBSCRIBE_WAIT_MS);
    });
    try {
      await Promise.race([this.resubscribed.promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async enqueue(envelope: RequestEnvelope): Promise<void> {
    // DESIGN.md rule 2: a message that carries blob bytes goes over HTTP; here it would be a bug.
    if (isStreamed(envelope.pattern)) {
      throw new OciError('UNKNOWN', `${envelope.pattern} carries blob bytes: it is sent over HTTP, never through Redis`);
    }
    const queue = this.keys.requests(envelope.pattern);
    const now = Date.now();
    const ttl = Math.max(1, envelope.deadline - now);
    await ENQUEUE_SCRIPT.run(this.commands!, [queue], [JSON.stringify(envelope), ttl, now - this.options.timeoutMs]);
  }

  private onReply(message: string): void {
    const reply = parseReply(message);
    if (reply === undefined) return;
    if ('err' in reply) this.settle(reply.id, { err: reply.err, isDisposed: true });
    else this.settle(reply.id, { response: reply.response, isDisposed: true });
  }

  private settle(id: string, packet: WritePacket): void {
    const callback = this.pending.get(id);
    if (!callback) return;
    this.pending.delete(id);
    callback(packet);
  }

  private failPending(reason: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { err: unavailable(reason), isDisposed: true });
  }
}

/** The service a message belongs to: its pattern's first word (`manifest.get`, `upload.append`). */
function serviceOf(pattern: string): string {
  return pattern.split('.')[0] ?? pattern;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

function unavailable(detail: string): OciError {
  return new OciError('UNAVAILABLE', detail);
}
