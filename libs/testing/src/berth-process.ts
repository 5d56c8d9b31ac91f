import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dump, load } from 'js-yaml';
import { ServerProcess } from './server-process';
import { createTempDir } from './temp-dir';

/** The repository root: this file sits in libs/testing/src (tests) or libs/testing/dist (built). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

export type BerthStartOptions = (
  | { readonly configFile: string; readonly config?: never }
  /** A config.yml as an object; written to a temp file removed on stop. */
  | { readonly config: Record<string, unknown>; readonly configFile?: never }
) & {
  /** Added to this process's environment: `REGISTRY_*` overrides, secrets… */
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /**
   * `log.level` of the distributed topology's service processes (default `info`, which their
   * readiness needs); `debug` adds a line per message each one handles (RedisQueueServer).
   */
  readonly serviceLogLevel?: 'info' | 'debug';
  /** Extra arguments of `berth serve` before CONFIG, e.g. `['--service', 'manifest']`. */
  readonly args?: readonly string[];
  /**
   * `all-in-one` (one `berth serve CONFIG`) or `distributed`: 1 gateway, 2 upload, 2 manifest
   * and 1 health process over Redis, as docker-compose runs them. Defaults to `distributed`
   * when BERTH_E2E_TARGET=distributed, so the same suites run against both.
   */
  readonly topology?: BerthTopology;
};

export type BerthTopology = 'all-in-one' | 'distributed';

/** One process of a distributed topology. */
export interface BerthInstance {
  readonly service: 'gateway' | 'upload' | 'manifest' | 'health';
  readonly process: ServerProcess;
  /** The id it announced itself under in Redis (`berth.bus.keyprefix:instances:<service>`). */
  readonly id?: string;
  /** `host:port` of an upload instance's internal listener (blob bytes from the gateway). */
  readonly address?: string;
}

export interface BerthProcess {
  /** `http://HOST:PORT` of `http.addr`, no trailing slash. */
  readonly url: string;
  readonly process: ServerProcess;
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
  /** Every process: the one of the all-in-one, or each service instance of the distributed topology. */
  readonly instances: readonly BerthInstance[];
  /** The Redis key prefix of a distributed topology (`berth.bus.keyprefix`). */
  readonly keyPrefix?: string;
  /**
   * One more instance of `service` in a distributed topology (a replacement for one killed, as
   * a restart policy starts it), ready once it announced itself; {@link stop} stops it too.
   */
  startInstance(service: DistributedService): Promise<BerthInstance>;
}

export type DistributedService = (typeof distributedServices)[number]['service'];

/**
 * The distributed topology's processes beside the one gateway. docker-compose.yml runs the
 * same (test/compose.spec.ts holds the two together).
 */
export const distributedServices = [
  { service: 'upload', count: 2 },
  { service: 'manifest', count: 2 },
  { service: 'health', count: 1 },
] as const;

/**
 * Runs the built `berth serve CONFIG` (cli/dist/main.js) as its own process, every service
 * inside it, and resolves once `GET /v2/` on `http.addr` answers (401 counts: auth may be on).
 * The distributed topology starts the gateway that way, then the other five processes, each
 * ready once it logs that it serves (their ServerProcess ready URL is the gateway's, which
 * already answers: the log line is what counts).
 */
export async function startBerth(options: BerthStartOptions): Promise<BerthProcess> {
  const main = join(repoRoot, 'cli', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`berth is not built: ${main} is missing (run pnpm build)`);
  const topology = options.topology ?? (process.env.BERTH_E2E_TARGET === 'distributed' ? 'distributed' : 'all-in-one');
  const configDir = options.configFile === undefined || topology === 'distributed' ? await createTempDir('berth-config-') : undefined;
  let config: Record<string, unknown>;
  if (options.configFile !== undefined) {
    config = (load(await readFile(options.configFile, 'utf8')) ?? {}) as Record<string, unknown>;
  } else {
    config = options.config;
  }
  let keyPrefix: string | undefined;
  if (topology === 'distributed') ({ config, keyPrefix } = distributedConfig(config));
  let configFile = options.configFile;
  if (configFile === undefined || topology === 'distributed') {
    configFile = join(configDir!.path, 'config.yml');
    await writeFile(configFile, dump(config));
  }
  const env = { ...process.env, ...options.env };
  const http = config.http as { addr?: string; tls?: { certificate?: string } } | undefined;
  const url = httpUrl(env.REGISTRY_HTTP_ADDR ?? http?.addr ?? ':5000', http?.tls?.certificate !== undefined);
  const instances: BerthInstance[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(instances.map((instance) => instance.process.stop()));
    await configDir?.remove();
  };
  const start = (args: readonly string[], readyUrl: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ServerProcess> =>
    ServerProcess.start({
      label: args.length > 0 ? `berth ${args.join(' ')}` : 'berth',
      command: process.execPath,
      args: [main, 'serve', ...args, configFile],
      env: { ...env, ...extraEnv },
      cwd: repoRoot,
      readyUrl,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    });
  const startInstance = async (service: DistributedService): Promise<BerthInstance> => {
    if (topology !== 'distributed') throw new Error('startInstance: only a distributed topology has instances of one service');
    const server = await start(['--service', service], `${url}/v2/`, { REGISTRY_LOG_LEVEL: options.serviceLogLevel ?? 'info' });
    const instance: { -readonly [K in keyof BerthInstance]: BerthInstance[K] } = { service, process: server };
    instances.push(instance);
    const serving = await servingLine(server, service, options.readyTimeoutMs ?? 30_000);
    instance.id = serving.id;
    if (serving.address !== undefined) instance.address = serving.address;
    return instance;
  };
  try {
    if (topology === 'all-in-one') {
      instances.push({ service: 'gateway', process: await start(options.args ?? [], `${url}/v2/`) });
    } else {
      instances.push({ service: 'gateway', process: await start(['--service', 'gateway'], `${url}/v2/`) });
      // These have no public listener: each is ready when it logs that it serves (after it
      // announced itself in Redis), which needs the info level whatever the file says.
      const starts = distributedServices.flatMap(({ service, count }) => Array.from({ length: count }, () => startInstance(service)));
      const failed = (await Promise.allSettled(starts)).find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const gateway = instances[0]!.process;
    return {
      url,
      process: gateway,
      pid: gateway.pid,
      get stdout() {
        return gateway.stdout;
      },
      get stderr() {
        return gateway.stderr;
      },
      kill: (signal) => gateway.kill(signal),
      stop: stopAll,
      instances,
      startInstance,
      ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * What a distributed topology adds to a config: Redis (the test run's, unless the config
 * names one), a key prefix of its own so that parallel topologies share one Redis, and an
 * `http.secret` shared by the upload instances (else each signs upload state with its own).
 */
function distributedConfig(config: Record<string, unknown>): { config: Record<string, unknown>; keyPrefix: string } {
  const berth = (config.berth ?? {}) as { bus?: Record<string, unknown> };
  const keyPrefix = (berth.bus?.keyprefix as string | undefined) ?? `berth-test-${randomBytes(6).toString('hex')}`;
  const http = (config.http ?? {}) as Record<string, unknown>;
  const redis = (config.redis ?? {}) as Record<string, unknown>;
  return {
    keyPrefix,
    config: {
      ...config,
      http: { ...http, secret: http.secret ?? randomBytes(16).toString('hex') },
      redis: { ...redis, addr: redis.addr ?? process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379' },
      berth: { ...berth, bus: { ...berth.bus, keyprefix: keyPrefix } },
    },
  };
}

/** Waits for `serving SERVICE as ID[ on ADDRESS]` in the process's log (stderr). */
async function servingLine(server: ServerProcess, service: string, timeoutMs: number): Promise<{ id: string; address?: string }> {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`"serving ${service} as ([^ "]+)(?: on ([^"]+))?"`);
  let exited = false;
  void server.waitForExit().then(() => (exited = true));
  for (;;) {
    const timedOut = Date.now() > deadline;
    const match = pattern.exec(server.stderr);
    if (match) return { id: match[1]!, ...(match[2] !== undefined ? { address: match[2] } : {}) };
    if (exited || timedOut) {
      throw new Error(`berth --service ${service} did not start${exited ? ' (it exited)' : ` within ${timeoutMs} ms`}:\n${server.stdout}\n${server.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `:5000` and `0.0.0.0:5000` listen everywhere; a client reaches them on loopback. */
function httpUrl(addr: string, tls: boolean): string {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon);
  const port = addr.slice(colon + 1);
  const reachable = host === '' || host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  return `${tls ? 'https' : 'http'}://${reachable}:${port}`;
}
