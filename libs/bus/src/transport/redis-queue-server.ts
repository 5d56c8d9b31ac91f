import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { asOciError, OciError } from '@berth/oci';
import type { Redis } from 'ioredis';
import { isObservable, lastValueFrom } from 'rxjs';
import { BusKeys } from '../redis/bus-keys';
import { disconnectNow, openRedis, type RedisSettings } from '../redis/redis-connection';
import { isStreamed, parseRequest, type ReplyEnvelope, type RequestEnvelope } from './redis-queue-envelope';

export interface RedisQueueServerOptions {
  /** Requests this instance works on at once; beyond that it stops taking, and other replicas do. */
  concurrency?: number;
  /** Names this instance's connections in `CLIENT LIST`. */
  instanceId?: string;
}

/** How long one BLPOP blocks: short enough to notice a silently dead connection, long enough to idle cheaply. */
const BLOCK_SECONDS = 2;

/** The context handed to handlers (`@Ctx()`): the pattern the request came in on. */
export class RedisQueueContext extends BaseRpcContext<[string]> {
  get pattern(): string {
    return this.args[0];
  }
}

/**
 * Serves a service's `@MessagePattern` handlers from Redis lists, one list per pattern.
 * Every replica pops from the same lists (BLPOP on a connection of its own), so each request
 * is taken by exactly one replica: competing consumers, as DESIGN.md rule 8 asks, where
 * Nest's own Redis transport (publish/subscribe) would run it on every replica and lose it
 * when none listens (nestjs/nest#10483). A request that waited past its deadline is dropped
 * unanswered: its caller has already answered 503. A request popped by a replica that then
 * dies is lost, and its caller times out: at most once, never twice. The messages that carry
 * blob bytes are never served here, nor sent by {@link RedisQueueClient}.
 */
export class RedisQueueServer extends Server implements CustomTransportStrategy {
  private readonly keys: BusKeys;
  private readonly concurrency: number;
  private readonly instanceId: string;
  private readonly inFlight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  private blocking: Redis | undefined;
  private commands: Redis | undefined;
  private running = false;
  private consuming: Promise<void> | undefined;
  private readonly log = new Logger('bus');

  constructor(
    private readonly settings: RedisSettings,
    options: RedisQueueServerOptions = {},
  ) {
    super();
    this.keys = new BusKeys(settings.keyPrefix);
    this.concurrency = options.concurrency ?? 32;
    this.instanceId = options.instanceId ?? randomUUID();
  }

  listen(callback: (error?: unknown) => void): void {
    // The messages that carry blob bytes are served by the stream transport; their lists are not read.
    const patterns = [...this.getHandlers().keys()].filter((pattern) => !isStreamed(pattern));
    if (patterns.length === 0) return callback();
    this.commands = openRedis(this.settings, 'command', `server-replies:${this.instanceId}`);
    this.blocking = openRedis(this.settings, 'blocking', `server-queue:${this.instanceId}`);
    this.running = true;
    this.consuming = this.consume(patterns.map((pattern) => this.keys.requests(pattern)));
    callback();
  }

  /** Stops taking requests, lets the ones in hand finish and answer, then disconnects. */
  async close(): Promise<void> {
    this.running = false;
    if (this.blocking) disconnectNow(this.blocking);
    await this.consuming;
    await Promise.allSettled([...this.inFlight]);
    await this.commands?.quit().catch(() => undefined);
  }

  on(): void {}

  unwrap<T>(): T {
    return this.commands as T;
  }

  private async consume(queues: string[]): Promise<void> {
    const blocking = this.blocking!;
    while (this.running) {
      if (this.inFlight.size >= this.concurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let popped: [string, string] | null;
      try {
        popped = await blocking.blpop(...queues, BLOCK_SECONDS);
      } catch (error) {
        if (!this.running) break;
        // The connection is reconnecting; ioredis re-sends the BLPOP itself, this is the rare rest.
        this.log.warn(`taking requests failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (popped === null) continue;
      const request = parseRequest(popped[1]);
      if (request === undefined) {
        this.log.error(`dropped a malformed request from ${popped[0]}`);
        continue;
      }
      if (Date.now() > request.deadline) continue;
      const work = this.handle(request).finally(() => {
        this.inFlight.delete(work);
        this.slotFreed?.();
        this.slotFreed = undefined;
      });
      this.inFlight.add(work);
    }
  }

  private async handle(request: RequestEnvelope): Promise<void> {
    // The map itself: Nest's getHandlerByPattern tries JSON.parse on every pattern first, and the
    // exception a plain name throws cost about a tenth of a manifest instance's CPU per request.
    const handler = this.getHandlers().get(request.pattern);
    let reply: ReplyEnvelope;
    if (!handler) {
      reply = { id: request.id, err: new OciError('UNKNOWN', `no handler for message "${request.pattern}"`).toWire() };
    } else {
      try {
        const result: unknown = await handler(request.data, new RedisQueueContext([request.pattern]));
        // A plain result needs no observable around it (as in-process-transport.ts).
        const response: unknown = isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result;
        reply = { id: request.id, response };
      } catch (error) {
        // The services' RpcErrorFilter throws wire forms; a bare Error came from outside it.
        reply = { id: request.id, err: error instanceof Error ? asOciError(error, this.log).toWire() : OciError.fromWire(error).toWire() };
      }
      // One line per message this instance ran: how the tests count that each ran exactly once.
      this.log.debug(`handled ${request.pattern} ${request.id}`);
      if (handler.isEventHandler) return;
    }
    if (request.replyTo === '') return;
    try {
      await this.commands!.publish(request.replyTo, JSON.stringify(reply));
    } catch (error) {
      // The caller will time out and answer 503: the one outcome left when Redis is away.
      this.log.warn(`reply to ${request.pattern} lost: ${(error as Error).message}`);
    }
  }
}
