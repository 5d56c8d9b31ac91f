import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { asOciError, OciError } from '@berth/oci';
import { inCarried } from '@berth/telemetry';
import type { Redis } from 'ioredis';
import { isObservable, lastValueFrom } from 'rxjs';
import { BusKeys } from '../redis/bus-keys';
import { LuaScript } from '../redis/lua-script';
import { disconnectNow, openRedis, type RedisSettings } from '../redis/redis-connection';
import { isReplayable, isStreamed, parseRequest, REPLICA_GROUP, type ReplyEnvelope, type RequestEnvelope } from './redis-queue-envelope';

export interface RedisQueueServerOptions {
  /** Requests this instance works on at once; beyond that it stops taking, and other replicas do. */
  concurrency?: number;
  /** Names this instance's connections in `CLIENT LIST`, and its consumer in the queues' group. */
  instanceId?: string;
  /** How long a request taken by a replica that stopped renewing stays its own before another replica takes it. */
  leaseMs?: number;
}

/** How long one XREADGROUP blocks: short enough to notice a silently dead connection, long enough to idle cheaply. */
const BLOCK_MS = 2_000;

/** A second: a dead replica's requests are answered by another within about one and a half. */
const DEFAULT_LEASE_MS = 1_000;

/**
 * Makes the consumer group every replica reads a queue through, where the queue's first
 * request is (`0`: a request queued before any replica ran is served), and keeps the queue:
 * a queue with a group is served, and no longer expires with its newest request (the
 * client's script leaves its lifetime alone once it has one).
 */
const CREATE_GROUP_SCRIPT = new LuaScript(`
local made = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP') then return made end
redis.call('PERSIST', KEYS[1])`);

/**
 * Done with a request (ARGV[2] in queue KEYS[1], group ARGV[1]): it leaves the replica's
 * in-flight entries and the queue, and its reply (ARGV[4]) goes to the caller's channel
 * (ARGV[3]; none for an event), in one round trip as the bare PUBLISH was.
 */
const FINISH_SCRIPT = new LuaScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end`);

/** The context handed to handlers (`@Ctx()`): the pattern the request came in on. */
export class RedisQueueContext extends BaseRpcContext<[string]> {
  get pattern(): string {
    return this.args[0];
  }
}

/** A request this replica holds: where it waits in Redis and what it asks. */
interface Taken {
  queue: string;
  entryId: string;
  raw: string;
}

/**
 * Serves a service's `@MessagePattern` handlers from Redis streams, one per pattern, read by
 * every replica through one consumer group: each request is taken by one replica (competing
 * consumers, DESIGN.md rule 8, where Nest's own Redis transport would run it on every replica
 * and lose it when none listens, nestjs/nest#10483). Delivery is at least once: a request
 * taken stays in the group's pending entries under this replica's name, with a lease it
 * renews while it works (XCLAIM resets the entry's idle time); if it dies, the lease lapses
 * and another replica takes the request over (XAUTOCLAIM) and answers it. Handlers are
 * idempotent, so a request run twice (a replica stalled past its lease, not dead) has one
 * effect, and its caller takes the first reply; the few messages whose second run would
 * answer differently (`isReplayable`) are answered with a clear 503 instead. A request that
 * waited past its deadline is dropped unanswered: its caller has already answered 503. The
 * messages that carry blob bytes are never served here, nor sent by {@link RedisQueueClient}.
 */
export class RedisQueueServer extends Server implements CustomTransportStrategy {
  private readonly keys: BusKeys;
  private readonly concurrency: number;
  private readonly instanceId: string;
  private readonly leaseMs: number;
  private readonly inFlight = new Map<Promise<void>, Taken>();
  private slotFreed: (() => void) | undefined;
  private blocking: Redis | undefined;
  private commands: Redis | undefined;
  private queues: string[] = [];
  private running = false;
  private consuming: Promise<void> | undefined;
  private renewing: NodeJS.Timeout | undefined;
  private reclaiming: NodeJS.Timeout | undefined;
  private readonly log = new Logger('bus');

  constructor(
    private readonly settings: RedisSettings,
    options: RedisQueueServerOptions = {},
  ) {
    super();
    this.keys = new BusKeys(settings.keyPrefix);
    this.concurrency = options.concurrency ?? 32;
    this.instanceId = options.instanceId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  listen(callback: (error?: unknown) => void): void {
    // The messages that carry blob bytes are served by the stream transport; their queues are not read.
    const patterns = [...this.getHandlers().keys()].filter((pattern) => !isStreamed(pattern));
    if (patterns.length === 0) return callback();
    this.queues = patterns.map((pattern) => this.keys.requests(pattern));
    this.commands = openRedis(this.settings, 'command', `server-replies:${this.instanceId}`);
    this.blocking = openRedis(this.settings, 'blocking', `server-queue:${this.instanceId}`);
    this.running = true;
    this.renewing = setInterval(() => this.renewLeases(), this.leaseMs / 3);
    this.reclaiming = setInterval(() => this.reclaimLapsed(), this.leaseMs / 2);
    this.consuming = this.createGroups().then(() => this.consume());
    callback();
  }

  /** Stops taking requests, lets the ones in hand finish and answer (their leases renewed), then disconnects. */
  async close(): Promise<void> {
    this.running = false;
    clearInterval(this.reclaiming);
    if (this.blocking) disconnectNow(this.blocking);
    await this.consuming;
    await Promise.allSettled([...this.inFlight.keys()]);
    clearInterval(this.renewing);
    await this.commands?.quit().catch(() => undefined);
  }

  on(): void {}

  unwrap<T>(): T {
    return this.commands as T;
  }

  private async consume(): Promise<void> {
    const blocking = this.blocking!;
    const newOnly = this.queues.map(() => '>');
    while (this.running) {
      if (this.inFlight.size >= this.concurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let read: unknown;
      try {
        read = await blocking.call('XREADGROUP', 'GROUP', REPLICA_GROUP, this.instanceId, 'COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', ...this.queues, ...newOnly);
      } catch (error) {
        if (!this.running) break;
        // A queue lost its group (Redis restarted empty, FLUSHALL): make them again, read on.
        if ((error as Error).message.startsWith('NOGROUP')) {
          await this.createGroups();
          continue;
        }
        // The connection is reconnecting; ioredis re-sends the read itself, this is the rare rest.
        this.log.warn(`taking requests failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const [queue, entries] of (read ?? []) as [string, StreamEntry[]][]) {
        for (const entry of entries) this.take(queue, entry, false);
      }
    }
  }

  /** Starts on one request; `redelivered` when another replica took it first and stopped renewing its lease. */
  private take(queue: string, [entryId, fields]: StreamEntry, redelivered: boolean): void {
    const taken: Taken = { queue, entryId, raw: fields[1] ?? '' };
    const work = this.handle(taken, redelivered).finally(() => {
      this.inFlight.delete(work);
      this.slotFreed?.();
      this.slotFreed = undefined;
    });
    this.inFlight.set(work, taken);
  }

  private async handle(taken: Taken, redelivered: boolean): Promise<void> {
    const request = parseRequest(taken.raw);
    if (request === undefined) {
      this.log.error(`dropped a malformed request from ${taken.queue}`);
      return this.finish(taken, '', '');
    }
    if (Date.now() > request.deadline) return this.finish(taken, '', '');
    // As part of the caller's request: its id on every line, its trace continued.
    const reply = await inCarried(request.meta, request.pattern, () => this.replyTo(request, redelivered));
    if (reply === undefined || request.replyTo === '') return this.finish(taken, '', '');
    return this.finish(taken, request.replyTo, JSON.stringify(reply));
  }

  /** The handler's answer; undefined for an event's handler, which answers nothing. */
  private async replyTo(request: RequestEnvelope, redelivered: boolean): Promise<ReplyEnvelope | undefined> {
    // The map itself: Nest's getHandlerByPattern tries JSON.parse on every pattern first, and the
    // exception a plain name throws cost about a tenth of a manifest instance's CPU per request.
    const handler = this.getHandlers().get(request.pattern);
    if (!handler) return { id: request.id, err: new OciError('UNKNOWN', `no handler for message "${request.pattern}"`).toWire() };
    if (redelivered && !isReplayable(request.pattern)) {
      const detail = `the instance that took ${request.pattern} stopped before answering; whether it took effect is unknown: retry the request`;
      return { id: request.id, err: new OciError('UNAVAILABLE', detail).toWire() };
    }
    let reply: ReplyEnvelope;
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
    return handler.isEventHandler ? undefined : reply;
  }

  private async finish(taken: Taken, replyTo: string, reply: string): Promise<void> {
    try {
      await FINISH_SCRIPT.run(this.commands!, [taken.queue], [REPLICA_GROUP, taken.entryId, replyTo, reply]);
    } catch (error) {
      // The lease lapses and another replica answers, or, with Redis away, the caller answers 503.
      this.log.warn(`reply from ${taken.queue} lost: ${(error as Error).message}`);
    }
  }

  private async createGroups(): Promise<void> {
    try {
      await Promise.all(this.queues.map((queue) => CREATE_GROUP_SCRIPT.run(this.commands!, [queue], [REPLICA_GROUP])));
    } catch (error) {
      // Redis is away: the next read fails with NOGROUP once it is back, and this runs again.
      this.log.warn(`cannot make the queues' consumer groups: ${(error as Error).message}`);
      if (this.running) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Resets the idle time of every request in hand: the lease other replicas read as "still alive". */
  private renewLeases(): void {
    const byQueue = new Map<string, string[]>();
    for (const { queue, entryId } of this.inFlight.values()) byQueue.set(queue, [...(byQueue.get(queue) ?? []), entryId]);
    if (byQueue.size === 0) return;
    const pipeline = this.commands!.pipeline();
    for (const [queue, ids] of byQueue) pipeline.call('XCLAIM', queue, REPLICA_GROUP, this.instanceId, 0, ...ids, 'JUSTID');
    pipeline.exec().catch(() => undefined);
  }

  /** Takes over the requests whose lease lapsed (their replica died), as many as there are free slots. */
  private reclaimLapsed(): void {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0 || !this.running) return;
    const pipeline = this.commands!.pipeline();
    for (const queue of this.queues) pipeline.call('XAUTOCLAIM', queue, REPLICA_GROUP, this.instanceId, this.leaseMs, '0-0', 'COUNT', free);
    pipeline
      .exec()
      .then((results) => {
        results?.forEach(([error, claimed], index) => {
          if (error || !this.running) return;
          // One of its own comes back only when this replica stalled past its lease: it is still at work on it.
          const held = new Set([...this.inFlight.values()].map((taken) => taken.entryId));
          for (const entry of (claimed as [string, StreamEntry[]])[1]) if (!held.has(entry[0])) this.take(this.queues[index]!, entry, true);
        });
      })
      .catch(() => undefined);
  }
}

/** One stream entry as Redis returns it: its id and its fields (`m`, the request). */
type StreamEntry = [string, string[]];
