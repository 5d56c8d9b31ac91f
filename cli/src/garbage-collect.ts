import { type BerthConfig, storageDriverOf } from '@berth/config';
import { type LinkCache, NO_LINK_CACHE, withTimeout } from '@berth/contracts';
import { collectGarbage, humanBytes, measureStorageUse } from '@berth/garbage-collection';
import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';

export interface GarbageCollectFlags {
  dryRun: boolean;
  deleteUntagged: boolean;
  quiet: boolean;
}

/**
 * `berth garbage-collect CONFIG`: the reference's offline command over the same storage. Its
 * lines go to stdout as the reference prints them; a failure is `failed to garbage collect: …`
 * on stderr and exit code 1, after which nothing was deleted when it failed while marking.
 * With `storage.cache.blobdescriptor` and `redis.addr` set, every layer link it removes is
 * invalidated in the shared cache at once (distribution#4269).
 */
export async function garbageCollect(config: BerthConfig, flags: GarbageCollectFlags): Promise<number> {
  const driver = storageDriver(config);
  await driver.ready?.();
  const out = new BufferedLines();
  const cache = await sharedLinkCache(config);
  try {
    await collectGarbage(new RegistryStorage(driver, cache.links), {
      ...flags,
      // The filesystem's orphans need a walk of the whole root: the upload purger's, on its schedule.
      orphans: driver.name !== 'filesystem',
      print: (line) => out.write(line),
      warn: (line) => console.error(`berth: ${line}`),
    });
    await out.flush();
    return 0;
  } catch (error) {
    await out.flush();
    console.error(`failed to garbage collect: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await cache.close();
  }
}

/** `berth storage-use CONFIG`: per repository what its manifests reference, then the registry's deduplicated total. */
export async function storageUse(config: BerthConfig, json: boolean): Promise<number> {
  const driver = storageDriver(config);
  await driver.ready?.();
  const out = new BufferedLines();
  // One line per repository, not per blob: not waited for.
  if (!json) void out.write('REPOSITORY\tMANIFESTS\tBLOBS\tBYTES');
  const use = await measureStorageUse(new RegistryStorage(driver), {
    onRepository: (repository) => {
      if (!json) void out.write(`${repository.repository}\t${repository.manifests}\t${repository.blobs}\t${repository.bytes}`);
    },
  });
  if (json) void out.write(JSON.stringify(use));
  else void out.write(`total (each blob once)\t-\t${use.referenced.blobs}\t${use.referenced.bytes}\t(${humanBytes(use.referenced.bytes)})`);
  await out.flush();
  return 0;
}

function storageDriver(config: BerthConfig): StorageDriver {
  const { name, params } = storageDriverOf(config);
  return createStorageDriver(name, params);
}

/**
 * The link cache the running registry shares through Redis, when it has one; otherwise none:
 * a registry's in-process cache (`inmemory`, all in one process) cannot be reached from here,
 * and its entries expire within five minutes (LINK_CACHE_TTL_MS).
 */
async function sharedLinkCache(config: BerthConfig): Promise<{ links: LinkCache; close(): Promise<void> }> {
  if (config.storage.cache.blobdescriptor === undefined || !config.redis?.addr) return { links: NO_LINK_CACHE, close: async () => {} };
  // Loaded only here: the bus (ioredis, BullMQ) costs a second of start-up that a run without a cache need not pay.
  const { openRedis, RedisLinkCache, redisSettingsFrom } = await import('@berth/bus');
  const settings = redisSettingsFrom(config);
  const redis = openRedis(settings, 'command', 'garbage-collect');
  try {
    await withTimeout(redis.ping(), 5_000, 'no answer within 5 s');
  } catch (error) {
    console.error(`berth: the link cache in Redis at ${settings.host}:${settings.port} cannot be told of what is removed (${(error as Error).message}); its entries expire within 5 minutes`);
    redis.disconnect();
    return { links: NO_LINK_CACHE, close: async () => {} };
  }
  return { links: new RedisLinkCache(redis, settings.keyPrefix), close: async () => void (await redis.quit().catch(() => redis.disconnect())) };
}

/**
 * stdout in 64 KiB writes rather than one per line: a large registry prints millions of lines.
 * Node writes to a pipe asynchronously, queueing in memory what the reader has not taken yet:
 * `write` answers a promise to wait on when that queue is full (the collector waits), so a
 * slow reader holds the run back rather than its output growing with the registry.
 */
class BufferedLines {
  private chunks: string[] = [];
  private size = 0;

  write(line: string): Promise<void> | undefined {
    this.chunks.push(line, '\n');
    this.size += line.length + 1;
    return this.size >= 65_536 ? this.flush() : undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.chunks.length === 0) return undefined;
    const taken = process.stdout.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
    return taken ? undefined : drained(process.stdout);
  }
}

/** When `stream` can take more, or never will (closed, failed: what is printed then is lost anyway). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done).off('close', done).off('error', done);
      resolve();
    };
    stream.on('drain', done).on('close', done).on('error', done);
  });
}
