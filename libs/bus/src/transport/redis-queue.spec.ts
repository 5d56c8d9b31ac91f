import { randomUUID } from 'node:crypto';
import { Controller, type DynamicModule, type INestMicroservice, Module, UseFilters } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { BerthConfig } from '@berth/config';
import { ManifestPattern, UploadPattern } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { StorageDriverError } from '@berth/storage-driver';
import { RpcErrorFilter } from '@berth/telemetry';
import { PrivateRedis } from '@berth/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BusKeys } from '../redis/bus-keys';
import { redisSettingsFrom, type RedisSettings } from '../redis/redis-connection';
import { NestMessageClient } from './nest-message-client';
import { RedisQueueClient } from './redis-queue-client';
import { RedisQueueServer } from './redis-queue-server';

/** The Redis every test run has (test/backends/redis.sh); each test takes keys of its own. */
const REDIS_ADDR = process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379';

function settings(addr = REDIS_ADDR): RedisSettings {
  const config = { redis: { addr, db: 0, tls: { enabled: false } }, berth: { bus: { keyprefix: `test-${randomUUID()}` } } };
  return redisSettingsFrom(config as unknown as BerthConfig);
}

interface TestMessages {
  'test.echo': { request: { id: string; delayMs?: number }; reply: { id: string; replica: string } };
  'test.fail': { request: { kind: 'oci' | 'bug' | 'storage' }; reply: never };
  [ManifestPattern.Delete]: { request: { repository: string; reference: string }; reply: Record<string, never> };
  [UploadPattern.Append]: { request: { id: string }; reply: { id: string } };
}

/** Which replica ran which request: the count that proves each ran once. */
const runs = new Map<string, string[]>();

function replicaModule(replica: string): DynamicModule {
  @Controller()
  @UseFilters(RpcErrorFilter)
  class TestController {
    /**
     * As the upload service declares it: the Redis transport must leave it to the stream
     * transport. Declared first, so a read that included its queue would take it first.
     */
    @MessagePattern(UploadPattern.Append)
    append(@Payload() request: { id: string }): { id: string } {
      runs.set(request.id, [...(runs.get(request.id) ?? []), replica]);
      return { id: request.id };
    }

    @MessagePattern('test.echo')
    async echo(@Payload() request: { id: string; delayMs?: number }): Promise<{ id: string; replica: string }> {
      runs.set(request.id, [...(runs.get(request.id) ?? []), replica]);
      await sleep(request.delayMs ?? 0);
      return { id: request.id, replica };
    }

    /** A message whose second run would answer differently: never run again on another replica. */
    @MessagePattern(ManifestPattern.Delete)
    delete(@Payload() request: { reference: string }): Record<string, never> {
      runs.set(request.reference, [...(runs.get(request.reference) ?? []), replica]);
      return {};
    }

    @MessagePattern('test.fail')
    fail(@Payload() request: { kind: string }): never {
      if (request.kind === 'oci') throw new OciError('MANIFEST_UNKNOWN', { tag: 'latest' });
      if (request.kind === 'storage') throw new StorageDriverError('connection refused', 'swift');
      throw new TypeError('a bug');
    }
  }
  @Module({ controllers: [TestController] })
  class ReplicaModule {}
  return { module: ReplicaModule };
}

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  runs.clear();
});

async function startReplica(redis: RedisSettings, replica: string, concurrency?: number, leaseMs?: number): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(replicaModule(replica), {
    strategy: new RedisQueueServer(redis, { concurrency, instanceId: replica, leaseMs }),
    logger: false,
  });
  await app.listen();
  cleanups.push(() => app.close());
  return app;
}

function client(redis: RedisSettings, timeoutMs: number): NestMessageClient<TestMessages> {
  const proxy = new RedisQueueClient(redis, { timeoutMs });
  cleanups.push(() => proxy.close());
  return new NestMessageClient<TestMessages>(proxy);
}

async function keysOf(redis: RedisSettings): Promise<string[]> {
  return withConnection(redis, (connection) => connection.keys(`${redis.keyPrefix}:*`));
}

async function withConnection<T>(redis: RedisSettings, use: (connection: Redis) => Promise<T>): Promise<T> {
  const connection = new Redis({ host: redis.host, port: redis.port, db: redis.db });
  try {
    return await use(connection);
  } finally {
    connection.disconnect();
  }
}

/** How many requests wait in this test's queues (the streams under its key prefix). */
async function queuedRequests(redis: RedisSettings): Promise<number> {
  const connection = new Redis({ host: redis.host, port: redis.port, db: redis.db });
  try {
    let count = 0;
    for (const key of await connection.keys(`${redis.keyPrefix}:*`)) {
      if ((await connection.type(key)) === 'stream') count += await connection.xlen(key);
    }
    return count;
  } finally {
    connection.disconnect();
  }
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('Redis queue transport', () => {
  it('with two replicas, each request is handled by exactly one of them', async () => {
    const redis = settings();
    await startReplica(redis, 'a', 2);
    await startReplica(redis, 'b', 2);
    const calls = client(redis, 10_000);
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const replies = await Promise.all(ids.map((id) => calls.send('test.echo', { id, delayMs: 20 })));
    expect(replies.map((reply) => reply.id)).toEqual(ids);
    for (const id of ids) expect(runs.get(id)).toHaveLength(1);
    expect([...runs.values()].flat()).toHaveLength(ids.length);
    // Two requests at a time each: neither replica could have taken them all.
    const byReplica = new Set(replies.map((reply) => reply.replica));
    expect(byReplica).toEqual(new Set(['a', 'b']));
  });

  it('a request nobody serves times out as UNAVAILABLE (503), and its queue empties itself', async () => {
    const redis = settings();
    const calls = client(redis, 300);
    const started = Date.now();
    const error = await calls.send('test.echo', { id: 'lonely' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OciError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(Date.now() - started).toBeLessThan(2_000);
    await until('the queue to empty itself', async () => (await keysOf(redis)).length === 0, 1_000);
  });

  it('a request sent while no replica runs is answered once one starts', async () => {
    const redis = settings();
    const calls = client(redis, 10_000);
    const reply = calls.send('test.echo', { id: 'early' });
    await until('the request to wait in its queue', async () => (await queuedRequests(redis)) === 1);
    await startReplica(redis, 'late');
    await expect(reply).resolves.toEqual({ id: 'early', replica: 'late' });
  });

  it('a request whose caller stopped waiting is dropped unanswered by a replica that starts later', async () => {
    const redis = settings();
    const calls = client(redis, 5_000);
    const stale = new NestMessageClient<TestMessages>(
      (() => {
        const proxy = new RedisQueueClient(redis, { timeoutMs: 200 });
        cleanups.push(() => proxy.close());
        return proxy;
      })(),
    );
    const staleReply = stale.send('test.echo', { id: 'stale' });
    await until('the stale request to wait in the queue', async () => (await queuedRequests(redis)) === 1);
    // Queued after the stale one: once the replica answers this, it has seen the stale one too.
    // Its longer wait keeps the queue alive past the stale caller's.
    const fresh = calls.send('test.echo', { id: 'fresh' });
    await until('both requests to wait in the queue', async () => (await queuedRequests(redis)) === 2);
    await expect(staleReply).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await queuedRequests(redis)).toBe(2);
    await startReplica(redis, 'late');
    await expect(fresh).resolves.toMatchObject({ id: 'fresh' });
    expect(runs.has('stale')).toBe(false);
  });

  it('errors travel as OciErrors: their code, detail and status; backend failures 503, bugs UNKNOWN', async () => {
    const redis = settings();
    await startReplica(redis, 'a');
    const calls = client(redis, 10_000);
    const oci = await calls.send('test.fail', { kind: 'oci' }).catch((caught: unknown) => caught);
    expect(oci).toBeInstanceOf(OciError);
    expect(oci).toMatchObject({ code: 'MANIFEST_UNKNOWN', detail: { tag: 'latest' }, status: 404 });
    await expect(calls.send('test.fail', { kind: 'storage' })).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    await expect(calls.send('test.fail', { kind: 'bug' })).rejects.toMatchObject({ code: 'UNKNOWN', status: 500 });
  });

  it('refuses to send a message that carries blob bytes: nothing of it reaches Redis', async () => {
    const redis = settings();
    const calls = client(redis, 5_000);
    const started = Date.now();
    const error = await calls.send(UploadPattern.Append, { id: 'bytes' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'UNKNOWN', status: 500 });
    expect((error as OciError).message).toMatch(/upload\.append carries blob bytes: it is sent over HTTP, never through Redis/);
    // At once, not after the timeout of a request that was queued.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await keysOf(redis)).toEqual([]);
  });

  it('does not serve a message that carries blob bytes, even when a handler declares it', async () => {
    const redis = settings();
    await startReplica(redis, 'a');
    // As a client without the guard would queue it.
    const queue = new BusKeys(redis.keyPrefix).requests(UploadPattern.Append);
    const envelope = { id: 'bytes', pattern: UploadPattern.Append, data: { id: 'bytes' }, replyTo: '', deadline: Date.now() + 60_000 };
    await withConnection(redis, (connection) => connection.xadd(queue, '*', 'm', JSON.stringify(envelope)));
    // Queued after it: a read that included its queue would have taken it before this one.
    await expect(client(redis, 5_000).send('test.echo', { id: 'after' })).resolves.toMatchObject({ id: 'after' });
    expect(runs.has('bytes')).toBe(false);
    expect(await withConnection(redis, (connection) => connection.xlen(queue))).toBe(1);
  });

  it('a request taken by a replica that died is taken over once its lease lapses, and answered', async () => {
    const redis = settings();
    const first = await startReplica(redis, 'survivor', undefined, 300);
    const calls = client(redis, 10_000);
    // Served once: the queue's consumer group exists.
    await expect(calls.send('test.echo', { id: 'warm-up' })).resolves.toMatchObject({ replica: 'survivor' });
    await first.close();

    const started = Date.now();
    const reply = calls.send('test.echo', { id: 'orphan' });
    // What a replica killed mid-request leaves: the request in its hands, never answered nor renewed.
    const taken = await takeAsDeadReplica(redis, 'test.echo');
    expect(taken).toContain('orphan');
    await startReplica(redis, 'survivor', undefined, 300);
    await expect(reply).resolves.toEqual({ id: 'orphan', replica: 'survivor' });
    // One lease after it was taken (and a reclaim round), not the 10 s request timeout.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(runs.get('orphan')).toEqual(['survivor']);
    // Done with: nothing pending, nothing left in the queue.
    const queue = new BusKeys(redis.keyPrefix).requests('test.echo');
    expect(await withConnection(redis, (connection) => connection.xlen(queue))).toBe(0);
    expect(await withConnection(redis, (connection) => connection.xpending(queue, 'replicas'))).toEqual([0, null, null, null]);
  });

  it('a replica that works longer than its lease keeps its request: renewed, it is run once', async () => {
    const redis = settings();
    await startReplica(redis, 'a', undefined, 200);
    await startReplica(redis, 'b', undefined, 200);
    const calls = client(redis, 10_000);
    const reply = await calls.send('test.echo', { id: 'slow', delayMs: 1_500 });
    expect(reply.id).toBe('slow');
    expect(runs.get('slow')).toHaveLength(1);
  });

  it('a request answered twice (taken over from a replica that stalled) settles its caller with the first reply only', async () => {
    const redis = settings();
    const first = await startReplica(redis, 'survivor', undefined, 300);
    const calls = client(redis, 10_000);
    await calls.send('test.echo', { id: 'warm-up' });
    await first.close();

    const reply = calls.send('test.echo', { id: 'twice' });
    const taken = await takeAsDeadReplica(redis, 'test.echo');
    const request = JSON.parse(taken) as { id: string; replyTo: string };
    await startReplica(redis, 'survivor', undefined, 300);
    await expect(reply).resolves.toEqual({ id: 'twice', replica: 'survivor' });
    // The stalled replica wakes and answers too: its reply finds nobody waiting, and breaks nothing.
    const late = JSON.stringify({ id: request.id, response: { id: 'twice', replica: 'stalled' } });
    expect(await withConnection(redis, (connection) => connection.publish(request.replyTo, late))).toBe(1);
    await expect(calls.send('test.echo', { id: 'next' })).resolves.toEqual({ id: 'next', replica: 'survivor' });
  });

  it('a message whose second run would answer differently is answered 503 when its replica died, never run again', async () => {
    const redis = settings();
    const first = await startReplica(redis, 'survivor', undefined, 300);
    const calls = client(redis, 10_000);
    await calls.send(ManifestPattern.Delete, { repository: 'r', reference: 'warm-up' });
    await first.close();

    const started = Date.now();
    const reply = calls.send(ManifestPattern.Delete, { repository: 'r', reference: 'v1' }).catch((caught: unknown) => caught);
    await takeAsDeadReplica(redis, ManifestPattern.Delete);
    await startReplica(redis, 'survivor', undefined, 300);
    const error = await reply;
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect((error as OciError).message).toMatch(/the instance that took manifest\.delete stopped before answering; whether it took effect is unknown: retry/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(runs.has('v1')).toBe(false);
  });

  it('after a Redis restart, the request in flight fails at once with 503 and the next ones succeed', async () => {
    const server = await PrivateRedis.start();
    cleanups.push(() => server.kill());
    const redis = settings(server.addr);
    await startReplica(redis, 'a');
    const calls = client(redis, 20_000);
    await expect(calls.send('test.echo', { id: 'before' })).resolves.toMatchObject({ id: 'before' });

    const inFlight = calls.send('test.echo', { id: 'during', delayMs: 1_000 }).catch((caught: unknown) => caught);
    await until('the replica to take the request', async () => runs.has('during'));
    const started = Date.now();
    await server.kill();
    const error = await inFlight;
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(Date.now() - started).toBeLessThan(5_000);

    await server.restart();
    await expect(calls.send('test.echo', { id: 'after' })).resolves.toMatchObject({ id: 'after' });
  });

  it('a request sent while the caller is subscribing again to its replies is answered: no reply is lost', async () => {
    // Redis's connections come back one by one: the caller's requests can reach a replica, and its
    // reply be published, before the caller listens again. Such a reply was lost, the caller waiting its timeout.
    const redis = settings();
    await startReplica(redis, 'a');
    const calls = client(redis, 10_000);
    await expect(calls.send('test.echo', { id: 'before' })).resolves.toMatchObject({ id: 'before' });

    await withConnection(redis, async (connection) => {
      const clients = (await connection.client('LIST')) as string;
      const subscriber = clients.split('\n').find((line) => line.includes(`name=${redis.keyPrefix}:client-replies:`));
      await connection.client('KILL', 'ID', /\bid=(\d+)/.exec(subscriber ?? '')![1]!);
    });
    await sleep(20);
    const started = Date.now();
    await expect(calls.send('test.echo', { id: 'while reconnecting' })).resolves.toMatchObject({ id: 'while reconnecting' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

/**
 * Takes the next request of `pattern` as a replica would, under a name of its own, and never
 * answers nor renews it: what a replica killed mid-request leaves in Redis. Its raw request.
 */
async function takeAsDeadReplica(redis: RedisSettings, pattern: string): Promise<string> {
  const queue = new BusKeys(redis.keyPrefix).requests(pattern);
  return withConnection(redis, async (connection) => {
    const read = (await connection.call('XREADGROUP', 'GROUP', 'replicas', 'dead', 'COUNT', 1, 'BLOCK', 5_000, 'STREAMS', queue, '>')) as
      | [string, [string, string[]][]][]
      | null;
    const fields = read?.[0]?.[1][0]?.[1];
    if (fields === undefined) throw new Error(`no ${pattern} request to take`);
    return fields[1]!;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
