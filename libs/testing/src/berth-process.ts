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
};

export interface BerthProcess {
  /** `http://HOST:PORT` of `http.addr`, no trailing slash. */
  readonly url: string;
  readonly process: ServerProcess;
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/**
 * Runs the built `berth serve CONFIG` (cli/dist/main.js) as its own process, every service
 * inside it, and resolves once `GET /v2/` on `http.addr` answers (401 counts: auth may be on).
 */
export async function startBerth(options: BerthStartOptions): Promise<BerthProcess> {
  const main = join(repoRoot, 'cli', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`berth is not built: ${main} is missing (run pnpm build)`);
  const configDir = options.configFile === undefined ? await createTempDir('berth-config-') : undefined;
  let configFile: string;
  let config: Record<string, unknown>;
  if (options.configFile !== undefined) {
    configFile = options.configFile;
    config = (load(await readFile(configFile, 'utf8')) ?? {}) as Record<string, unknown>;
  } else {
    config = options.config;
    configFile = join(configDir!.path, 'config.yml');
    await writeFile(configFile, dump(config));
  }
  const env = { ...process.env, ...options.env };
  const url = httpUrl(env.REGISTRY_HTTP_ADDR ?? (config.http as { addr?: string } | undefined)?.addr ?? ':5000');
  try {
    const server = await ServerProcess.start({
      label: 'berth',
      command: process.execPath,
      args: [main, 'serve', configFile],
      env,
      cwd: repoRoot,
      readyUrl: `${url}/v2/`,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    });
    return {
      url,
      process: server,
      pid: server.pid,
      get stdout() {
        return server.stdout;
      },
      get stderr() {
        return server.stderr;
      },
      kill: (signal) => server.kill(signal),
      stop: async () => {
        await server.stop();
        await configDir?.remove();
      },
    };
  } catch (error) {
    await configDir?.remove();
    throw error;
  }
}

/** `:5000` and `0.0.0.0:5000` listen everywhere; a client reaches them on loopback. */
function httpUrl(addr: string): string {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon);
  const port = addr.slice(colon + 1);
  const reachable = host === '' || host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  return `http://${reachable}:${port}`;
}
