import { randomUUID } from 'node:crypto';
import type { LinkCache } from '@berth/contracts';
import { PrivateRedis } from '@berth/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../redis/redis-connection';
import { InProcessLinkCache } from './in-process-link-cache';
import { RedisLinkCache } from './redis-link-cache';

const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':') as [string, string];
const connections: Redis[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.quit().catch(() => undefined)));
});

function connect(redisPort = Number(port)): Redis {
  const redis = openRedis({ host, port: redisPort, db: 0, keyPrefix: 'link-cache-spec' }, 'command', 'link-cache-spec');
  connections.push(redis);
  return redis;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
}

/** A link in "storage": what it holds, and how often it was read. */
class StoredLink {
  reads = 0;
  constructor(public content: string | undefined) {}
  readonly load = async (): Promise<string | undefined> => {
    this.reads++;
    return this.content;
  };
}

/** Two views of one cache: two processes sharing Redis, or one process's memory. */
type Pair = { writer: LinkCache; reader: LinkCache };

const implementations: [string, (ttlMs?: number) => Promise<Pair>][] = [
  [
    InProcessLinkCache.name,
    async (ttlMs) => {
      const cache = new InProcessLinkCache(100, ttlMs);
      return { writer: cache, reader: cache };
    },
  ],
  [
    RedisLinkCache.name,
    async (ttlMs) => {
      const prefix = `test-${randomUUID()}`;
      const [one, two] = [connect(), connect()];
      await Promise.all([ready(one), ready(two)]);
      return { writer: new RedisLinkCache(one, prefix, { ttlMs }), reader: new RedisLinkCache(two, prefix, { ttlMs }) };
    },
  ],
];

describe.each(implementations)('%s', (_name, start) => {
  it('reads storage on a miss, answers from the cache after, for every instance', async () => {
    const { writer, reader } = await start();
    const link = new StoredLink('sha256:aaa');
    expect(await writer.read('/a/link', link.load)).toBe('sha256:aaa');
    expect(await writer.read('/a/link', link.load)).toBe('sha256:aaa');
    expect(await reader.read('/a/link', link.load)).toBe('sha256:aaa');
    expect(link.reads).toBe(1);
  });

  it('never remembers that a link is missing', async () => {
    const { writer, reader } = await start();
    const link = new StoredLink(undefined);
    expect(await writer.read('/missing/link', link.load)).toBeUndefined();
    link.content = 'sha256:bbb';
    expect(await reader.read('/missing/link', link.load)).toBe('sha256:bbb');
    expect(link.reads).toBe(2);
  });

  it('after an invalidation every instance reads storage again', async () => {
    const { writer, reader } = await start();
    const link = new StoredLink('sha256:old');
    await reader.read('/tag/link', link.load);
    link.content = undefined;
    await writer.invalidate(['/tag/link']);
    expect(await reader.read('/tag/link', link.load)).toBeUndefined();
    link.content = 'sha256:new';
    await writer.invalidate(['/tag/link']);
    expect(await reader.read('/tag/link', link.load)).toBe('sha256:new');
    expect(await writer.read('/tag/link', link.load)).toBe('sha256:new');
    expect(link.reads).toBe(3);
  });

  it('a read that began before a write does not store what it read before it', async () => {
    const { writer, reader } = await start();
    const link = new StoredLink('sha256:old');
    let release!: () => void;
    let started!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = new Promise<void>((resolve) => (started = resolve));
    const slowRead = reader.read('/raced/link', async () => {
      const before = link.content;
      started();
      await gate;
      return before;
    });
    await loading;
    // The write lands in storage, and is invalidated, while the slow read holds the old content.
    link.content = 'sha256:new';
    await writer.invalidate(['/raced/link']);
    release();
    expect(await slowRead).toBe('sha256:old');
    expect(await reader.read('/raced/link', link.load)).toBe('sha256:new');
    expect(link.reads).toBe(1);
  });

  it('an entry expires after its TTL: a writer berth cannot see is noticed in bounded time', async () => {
    const { reader } = await start(150);
    const link = new StoredLink('sha256:before');
    await reader.read('/foreign/link', link.load);
    link.content = 'sha256:after';
    const changed = Date.now();
    expect(await reader.read('/foreign/link', link.load)).toBe('sha256:before');
    while ((await reader.read('/foreign/link', link.load)) !== 'sha256:after') {
      expect(Date.now() - changed, 'the change seen once the TTL is over').toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});

describe(InProcessLinkCache.name, () => {
  it('holds at most maxEntries links, dropping the least recently used', async () => {
    const cache = new InProcessLinkCache(2);
    const [a, b, c] = [new StoredLink('a'), new StoredLink('b'), new StoredLink('c')];
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    await cache.read('a', a.load);
    await cache.read('c', c.load);
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    expect([a.reads, b.reads, c.reads]).toEqual([1, 2, 1]);
  });

  it('an invalidation evicted during a slow read still keeps that read from storing', async () => {
    const cache = new InProcessLinkCache(1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowRead = cache.read('raced', async () => (await gate, 'old'));
    await cache.invalidate(['raced']);
    await cache.read('other', async () => 'other');
    release();
    await slowRead;
    const link = new StoredLink('new');
    expect(await cache.read('raced', link.load)).toBe('new');
    expect(link.reads).toBe(1);
  });
});

describe(`${RedisLinkCache.name} while Redis fails`, () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });

  afterAll(async () => {
    await redis?.kill();
  });

  it('keeps its entries under berth.bus.keyprefix, one hash per link', async () => {
    const connection = connect(redis.port);
    await ready(connection);
    const prefix = `test-${randomUUID()}`;
    await new RedisLinkCache(connection, prefix).read('/docker/registry/v2/x/link', new StoredLink('sha256:ccc').load);
    expect(await redis.command('HGET', `${prefix}:cache:link:/docker/registry/v2/x/link`, 'v')).toBe('sha256:ccc');
  });

  it('with writes refused, an invalidation is kept and sent once Redis takes it; meanwhile this instance skips the cache', async () => {
    const prefix = `test-${randomUUID()}`;
    const [one, two] = [connect(redis.port), connect(redis.port)];
    await Promise.all([ready(one), ready(two)]);
    const writer = new RedisLinkCache(one, prefix, { timeoutMs: 200 });
    const reader = new RedisLinkCache(two, prefix);
    const link = new StoredLink('sha256:old');
    await reader.read('/paused/link', link.load);
    expect(link.reads).toBe(1);

    await redis.command('CLIENT', 'PAUSE', '1500', 'WRITE');
    link.content = 'sha256:new';
    await writer.invalidate(['/paused/link']);
    // This instance knows its invalidation is not out yet: it asks storage.
    expect(await writer.read('/paused/link', link.load)).toBe('sha256:new');
    // The others cannot know until Redis takes it.
    expect(await reader.read('/paused/link', link.load)).toBe('sha256:old');

    const deadline = Date.now() + 10_000;
    while ((await reader.read('/paused/link', link.load)) !== 'sha256:new') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('with Redis gone, every read is answered from storage and no invalidation throws', async () => {
    const connection = connect(redis.port);
    await ready(connection);
    const cache = new RedisLinkCache(connection, `test-${randomUUID()}`, { timeoutMs: 200 });
    const link = new StoredLink('sha256:ddd');
    await cache.read('/gone/link', link.load);
    await redis.kill();
    try {
      link.content = 'sha256:eee';
      await expect(cache.invalidate(['/gone/link'])).resolves.toBeUndefined();
      expect(await cache.read('/gone/link', link.load)).toBe('sha256:eee');
      expect(await cache.read('/other/link', new StoredLink('sha256:fff').load)).toBe('sha256:fff');
    } finally {
      await redis.restart();
    }
  });
});
