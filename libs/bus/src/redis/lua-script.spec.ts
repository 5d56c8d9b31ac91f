import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PrivateRedis } from '@berth/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisCollectionFence } from '../collection-fence/redis-collection-fence';
import { LuaScript } from './lua-script';
import { openRedis } from './redis-connection';

/** Counts its runs in KEYS[1] and answers what it was given, so a run twice or lost shows. */
const COUNTED_LUA = `
local runs = redis.call('INCR', KEYS[1])
return {runs, ARGV[1]}
`;
const COUNTED = new LuaScript(COUNTED_LUA);

/** A Redis of this file's own: its command counts, SCRIPT FLUSH and restarts disturb nobody. */
describe('LuaScript on a real Redis', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = openRedis({ host: '127.0.0.1', port: server.port, db: 0, keyPrefix: 'lua-spec' }, 'command', 'lua-spec');
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.kill();
  });

  beforeEach(async () => {
    await server.command('FLUSHALL');
    await server.command('CONFIG', 'RESETSTAT');
  });

  /** How many EVAL and EVALSHA calls Redis took (the spec's own redis-cli sends neither). */
  async function calls(): Promise<{ eval: number; evalsha: number }> {
    const stats = await server.command('INFO', 'commandstats');
    const count = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    return { eval: count('eval'), evalsha: count('evalsha') };
  }

  it('sends the script whole once per connection, then runs it by its hash', async () => {
    for (let run = 1; run <= 3; run++) expect(await COUNTED.run(redis, ['runs'], [`call ${run}`])).toEqual([run, `call ${run}`]);
    expect(await calls()).toEqual({ eval: 1, evalsha: 2 });
  });

  it('after SCRIPT FLUSH, Redis answers NOSCRIPT and the script is sent whole again, run once', async () => {
    expect(await COUNTED.run(redis, ['runs'], ['before'])).toEqual([1, 'before']);
    await server.command('SCRIPT', 'FLUSH');
    expect(await server.command('SCRIPT', 'EXISTS', createHash('sha1').update(COUNTED_LUA).digest('hex'))).toBe('0');
    await server.command('CONFIG', 'RESETSTAT');
    expect(await COUNTED.run(redis, ['runs'], ['after'])).toEqual([2, 'after']);
    expect(await COUNTED.run(redis, ['runs'], ['then'])).toEqual([3, 'then']);
    expect(await server.command('GET', 'runs')).toBe('3');
    // Sent whole once more: for the call Redis answered NOSCRIPT, not for the next one.
    expect((await calls()).eval).toBe(1);
  });

  it('after Redis restarted empty, the connection comes back and the script runs again', async () => {
    expect(await COUNTED.run(redis, ['runs'], ['before'])).toEqual([1, 'before']);
    await server.kill();
    await server.restart();
    if (redis.status !== 'ready') await once(redis, 'ready');
    expect(await COUNTED.run(redis, ['runs'], ['after'])).toEqual([1, 'after']);
    expect(await COUNTED.run(redis, ['runs'], ['then'])).toEqual([2, 'then']);
  });

  it("the collection fence's steps go on across SCRIPT FLUSH between them", async () => {
    const fence = new RedisCollectionFence(redis, 'lua-spec');
    const flush = () => server.command('SCRIPT', 'FLUSH');
    await redis.set('lua-spec:gc:since', 0);
    const lease = await fence.acquire('run', 30_000, 3_600_000);
    if (!lease.acquired) throw new Error('no lease');
    await flush();
    expect(await fence.begin('run')).toBe(true);
    await flush();
    expect(await fence.touch(['sha256:touched'])).toBe('recorded');
    await flush();
    expect(await fence.condemn('run', ['sha256:touched', 'sha256:old'], lease.now - 3_600_000)).toEqual(['sha256:old']);
    await flush();
    expect(await fence.touch(['sha256:old'])).toBe('condemned');
    await flush();
    expect(await fence.renew('run', 30_000)).toBe(true);
    await flush();
    await fence.release('run');
    expect(await fence.touch(['sha256:old'])).toBe('recorded');
  });
});
