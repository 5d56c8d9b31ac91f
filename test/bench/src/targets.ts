import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  dropContainer,
  emptyBucket,
  filesystemRegistryConfig,
  freePort,
  htpasswdLine,
  listContainer,
  PrivateRedis,
  type S3Backend,
  startBerth,
  startReferenceRegistry,
  type SwiftBackend,
} from '@berth/testing';

/**
 * The registries the bench starts itself, in the order it measures them: the `berth-*` variants
 * are `berth` with one feature on (htpasswd auth, the access log, metrics), to read its cost,
 * and `berth-observed` with both logging and metrics on (issue 18: within 5% of both off).
 */
export const startedTargets = ['reference', 'berth', 'distributed', 'reference-htpasswd', 'berth-htpasswd', 'berth-logged', 'berth-metrics', 'berth-observed'] as const;
/** What the bench runs unless told (`--only`). */
export const defaultTargets: readonly StartedTarget[] = ['reference', 'berth', 'distributed'];
export type StartedTarget = (typeof startedTargets)[number];

/** berth's logging as it runs by default (`berth-logged`, `berth-observed`): info, the access log on, the text formatter. */
const loggedByDefault = { level: 'info', formatter: 'text', fields: { service: 'registry' } };

/** The one user of the `-htpasswd` targets: one htpasswd file (bcrypt cost 10, as `htpasswd -B`) for both. */
const benchUser = { user: 'bench', password: 'bench-password-7c1d' };

/**
 * Where the targets keep their data: a directory each under `directory`, or, given `swift`,
 * a Swift container each (the directory then holds only what the reference insists on).
 */
export interface Backend {
  readonly directory: string;
  readonly swift?: SwiftBackend;
  /** S3 (the test Swift's s3api): one bucket, a root directory per target. */
  readonly s3?: S3Backend;
}

/** A registry under test: where it answers, and the processes whose CPU and memory are the server's. */
export interface Target {
  readonly name: string;
  readonly url: string;
  /** Every process serving it; empty for a registry the bench did not start. */
  readonly pids: readonly number[];
  /** The `Authorization` header every request to it carries (the `-htpasswd` targets). */
  readonly authorization?: string;
  stop(): Promise<void>;
}

/** One target's place on the backend: the `storage` section of its config.yml, and how to clear it. */
interface Storage {
  readonly section: Record<string, unknown>;
  /** The filesystem root; on Swift, an empty directory for the reference's `rootDirectory` argument. */
  readonly directory: string;
  remove(): Promise<void>;
}

/** Starts `name` on a fresh place of its own on `backend`; a failure names the target. */
export async function startTarget(name: StartedTarget, backend: Backend): Promise<Target> {
  const storage = openStorage(name, backend);
  const port = await freePort();
  // Every target gets the same config.yml but for its storage and port, so none pays for work another skips.
  const config = { ...filesystemRegistryConfig({ rootDirectory: storage.directory, port }), storage: storage.section };
  const authorization = `Basic ${Buffer.from(`${benchUser.user}:${benchUser.password}`).toString('base64')}`;
  const htpasswd = async () => {
    const path = join(backend.directory, 'htpasswd');
    await writeFile(path, `${htpasswdLine(benchUser.user, benchUser.password, 10)}\n`);
    return { htpasswd: { realm: 'bench', path } };
  };
  try {
    switch (name) {
      case 'reference-htpasswd': {
        const extraConfig = { storage: storage.section, auth: await htpasswd() };
        const registry = await startReferenceRegistry({ rootDirectory: storage.directory, port, extraConfig });
        return { name, url: registry.url, pids: [registry.process.pid], authorization, stop: () => stopThen(registry.stop, storage) };
      }
      case 'berth-htpasswd': {
        const berth = await startBerth({ config: { ...config, auth: await htpasswd() }, topology: 'all-in-one' });
        return { name, url: berth.url, pids: [berth.pid], authorization, stop: () => stopThen(berth.stop, storage) };
      }
      case 'reference': {
        const registry = await startReferenceRegistry({ rootDirectory: storage.directory, port, extraConfig: { storage: storage.section } });
        return { name, url: registry.url, pids: [registry.process.pid], stop: () => stopThen(registry.stop, storage) };
      }
      case 'berth': {
        const berth = await startBerth({ config, topology: 'all-in-one' });
        return { name, url: berth.url, pids: [berth.pid], stop: () => stopThen(berth.stop, storage) };
      }
      case 'berth-metrics':
      case 'berth-observed': {
        const debug = { addr: `127.0.0.1:${await freePort()}`, prometheus: { enabled: true } };
        const observed = { ...config, http: { ...(config as { http?: object }).http, debug }, ...(name === 'berth-observed' ? { log: loggedByDefault } : {}) };
        const berth = await startBerth({ config: observed, topology: 'all-in-one' });
        return { name, url: berth.url, pids: [berth.pid], stop: () => stopThen(berth.stop, storage) };
      }
      case 'distributed':
        return await startDistributed(config, storage);
      case 'berth-logged': {
        // berth as it runs by default: an access line per request (text, the reference's
        // default formatter) at info level, read from the pipe as a log collector would.
        const berth = await startBerth({ config: { ...config, log: loggedByDefault }, topology: 'all-in-one' });
        return { name, url: berth.url, pids: [berth.pid], stop: () => stopThen(berth.stop, storage) };
      }
    }
  } catch (error) {
    await storage.remove();
    throw new Error(`${name} did not start: ${(error as Error).message}\n(to bench the others: pnpm bench -- --only NAME …)`);
  }
}

/**
 * 1 gateway, 2 upload, 2 manifest and 1 health process, over a redis-server of their own:
 * no other test's traffic shares it, and its CPU and memory can be counted with the rest.
 */
async function startDistributed(config: Record<string, unknown>, storage: Storage): Promise<Target> {
  const redis = await PrivateRedis.start();
  try {
    const redisPid = /^process_id:(\d+)/m.exec(await redis.command('INFO', 'server'))?.[1];
    if (redisPid === undefined) throw new Error('redis-server did not tell its process_id (INFO server)');
    const berth = await startBerth({ config: { ...config, redis: { addr: redis.addr } }, topology: 'distributed' });
    return {
      name: 'distributed',
      url: berth.url,
      pids: [...berth.instances.map((instance) => instance.process.pid), Number(redisPid)],
      stop: () => stopThen(async () => {
        await berth.stop();
        await redis.kill();
      }, storage),
    };
  } catch (error) {
    await redis.kill();
    throw error;
  }
}

/** The bucket every target of `--backend s3` shares, each under a root directory of its own. */
export const S3_BENCH_BUCKET = 'berth-bench';

function openStorage(target: string, backend: Backend): Storage {
  const directory = join(backend.directory, target);
  const removeDirectory = () => rm(directory, { recursive: true, force: true });
  if (backend.s3 !== undefined) {
    const s3 = backend.s3;
    const root = `bench-${randomBytes(4).toString('hex')}-${target}`;
    // The reference 2.8 knows no forcepathstyle: with regionendpoint both go path-style anyway.
    const { forcepathstyle: _pathStyle, ...keys } = s3;
    return {
      // Both redirect blob pulls to pre-signed URLs by default.
      section: { s3: { ...keys, bucket: S3_BENCH_BUCKET, rootdirectory: `/${root}`, secure: false }, delete: { enabled: true } },
      directory,
      remove: async () => {
        await removeDirectory();
        await emptyBucket(s3, S3_BENCH_BUCKET, `${root}/`);
      },
    };
  }
  if (backend.swift === undefined) {
    const section = filesystemRegistryConfig({ rootDirectory: directory, port: 0 }).storage as Record<string, unknown>;
    return { section, directory, remove: removeDirectory };
  }
  const swift = backend.swift;
  const container = `berth-bench-${randomBytes(4).toString('hex')}-${target}`;
  return {
    // tempurlcontainerkey: pulls redirect to TempURLs, as the reference's do by itself wherever
    // /info lists tempurl (it then keys the container); the key stays off the shared account.
    section: {
      swift: { authurl: swift.authurl, username: swift.username, password: swift.password, container, tempurlcontainerkey: true },
      delete: { enabled: true },
    },
    directory,
    remove: async () => {
      await removeDirectory();
      await dropContainer(swift, container);
      const left = await listContainer(swift, container);
      if (left.length > 0) console.error(`bench: ${left.length} objects left in Swift container ${container}`);
    },
  };
}

async function stopThen(stop: () => Promise<void>, storage: Storage): Promise<void> {
  try {
    await stop();
  } finally {
    await storage.remove();
  }
}
