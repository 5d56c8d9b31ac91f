import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { dump } from 'js-yaml';
import { createTempDir, filesystemRegistryConfig, freePort, repoRoot } from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { SyntheticBlob } from './blob-source';
import { cpuSeconds } from './process-stats';
import { RegistryClient } from './registry-client';
import { pushImage } from './scenarios';

const usage = `pnpm bench:cost [-- OPTIONS]: what logging and metrics cost berth per request

  --requests N    requests per scenario and variant, each round (default 3000; 1000 with --callgrind)
  --warmup N      untimed requests of each scenario first (default 3000; 1500 with --callgrind)
  --rounds N      rounds, the variants' order rotating (default 3; 1 with --callgrind)
  --callgrind     run each server under valgrind --tool=callgrind and count instructions
                  (the same on a busy machine as on an idle one) instead of CPU time
  --berth DIR     the built checkout whose berth to run (default: this one): two runs compare two versions
  -h, --help      this text

Variants: off (no access log, metrics off: the bench's berth), logged (log.level info, access
log on, text, as berth-logged), metrics (http.debug.prometheus on, as berth-metrics), observed
(both on). Scenarios, one client, one request at a time: manifest HEAD and GET by tag, and
GET of a 64 KiB blob.`;

const exec = promisify(execFile);

type Variant = 'off' | 'logged' | 'metrics' | 'observed';
const variants: readonly Variant[] = ['off', 'logged', 'metrics', 'observed'];

interface Server {
  readonly variant: Variant;
  readonly url: string;
  readonly child: ChildProcess;
  /** Bytes the server wrote to stderr (its log), read as a collector would. */
  logBytes: number;
}

const KiB = 1024;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      callgrind: { type: 'boolean' },
      berth: { type: 'string', default: repoRoot },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const callgrind = values.callgrind === true;
  const requests = Number(values.requests ?? (callgrind ? 1000 : 3000));
  const warmup = Number(values.warmup ?? (callgrind ? 1500 : 3000));
  const rounds = Number(values.rounds ?? (callgrind ? 1 : 3));
  const scratch = await createTempDir('berth-cost-');
  const servers: Server[] = [];
  const http = new BenchHttpClient();
  try {
    // Started together: under valgrind each takes minutes to start.
    const started = await Promise.allSettled(variants.map((variant) => startServer(variant, scratch.path, callgrind, values.berth)));
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const scenarios = await prepare(servers, http);
    // Every scenario warmed on every server before anything is counted: V8 has compiled the hot path by then.
    for (const server of servers) for (const scenario of scenarios) await repeat(warmup, () => scenario.run(server));
    const counted = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [index, scenario] of scenarios.entries()) {
        for (const server of rotated(servers, index + round)) {
          const cost = await measure(server, callgrind, () => repeat(requests, () => scenario.run(server)));
          const key = `${scenario.name}\0${server.variant}`;
          counted.set(key, [...(counted.get(key) ?? []), cost / requests]);
          console.error(`${server.variant} ${scenario.name}, round ${round + 1}: ${formatCost(cost / requests, callgrind)}`);
        }
      }
    }
    console.log(table(scenarios.map((scenario) => scenario.name), counted, callgrind));
    if (callgrind) {
      // What a server costs doing nothing (timers, the event-loop-delay monitor of the process
      // metrics), by the second: under valgrind a request takes ~50x longer, so this weighs more than natively.
      for (const server of servers) {
        const idle = await measure(server, true, () => new Promise((resolve) => setTimeout(resolve, 5_000)));
        console.log(`${server.variant}: idle ${(idle / 5 / 1e6).toFixed(1)} M instructions/s`);
      }
    }
  } finally {
    http.close();
    for (const server of servers) await stop(server);
    await scratch.remove();
  }
}

/** One config.yml per variant: the bench's (`filesystemRegistryConfig`) with the feature switched on. */
async function startServer(variant: Variant, directory: string, callgrind: boolean, checkout: string): Promise<Server> {
  const port = await freePort();
  const root = join(directory, variant);
  const config = filesystemRegistryConfig({ rootDirectory: root, port }) as Record<string, unknown> & { http: Record<string, unknown> };
  if (variant === 'logged' || variant === 'observed') {
    config.log = { level: 'info', formatter: 'text', fields: { service: 'registry' } };
  }
  if (variant === 'metrics' || variant === 'observed') {
    config.http = { ...config.http, debug: { addr: `127.0.0.1:${await freePort()}`, prometheus: { enabled: true } } };
  }
  const file = join(directory, `${variant}.yml`);
  await writeFile(file, dump(config));
  const node = [process.execPath, join(checkout, 'cli', 'dist', 'main.js'), 'serve', file];
  const command = callgrind
    ? ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(directory, `callgrind.${variant}.%p`)}`, '--dump-instr=no', ...node]
    : node;
  const child = spawn(command[0]!, command.slice(1), { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
  const server: Server = { variant, url: `http://127.0.0.1:${port}`, child, logBytes: 0 };
  let early = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    server.logBytes += chunk.length;
    if (early.length < 10_000) early += chunk.toString();
  });
  const deadline = Date.now() + (callgrind ? 300_000 : 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${variant} exited: ${early}`);
    const answered = await fetch(`${server.url}/v2/`).then((response) => response.status, () => 0);
    if (answered === 200) return server;
    if (Date.now() > deadline) throw new Error(`${variant} did not answer /v2/ in time: ${early}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Scenario {
  readonly name: string;
  run(server: Server): Promise<void>;
}

/** The image every scenario reads, pushed to each server: one 64 KiB layer, its config, a manifest tagged `latest`. */
async function prepare(servers: readonly Server[], http: BenchHttpClient): Promise<Scenario[]> {
  const layer = new SyntheticBlob(64 * KiB);
  const manifests = new Map<Server, Buffer>();
  const clients = new Map<Server, RegistryClient>();
  for (const server of servers) {
    const client = new RegistryClient(server.url, http);
    clients.set(server, client);
    manifests.set(server, await pushImage(client, 'cost/image', 'latest', [layer]));
  }
  return [
    { name: 'manifest HEAD by tag', run: (server) => clients.get(server)!.manifestRequest('HEAD', 'cost/image', 'latest', manifests.get(server)!) },
    { name: 'manifest GET by tag', run: (server) => clients.get(server)!.manifestRequest('GET', 'cost/image', 'latest', manifests.get(server)!) },
    { name: 'blob GET, 64 KiB', run: (server) => clients.get(server)!.pullBlob('cost/image', layer) },
  ];
}

/** The server's instructions (callgrind) or CPU seconds spent while `work` runs. */
async function measure(server: Server, callgrind: boolean, work: () => Promise<unknown>): Promise<number> {
  const pid = server.child.pid!;
  if (!callgrind) {
    const before = cpuSeconds(pid);
    await work();
    return cpuSeconds(pid) - before;
  }
  // callgrind_control acts when the server next runs code: a request wakes it.
  const zeroed = exec('callgrind_control', ['--zero', String(pid)]);
  await fetch(`${server.url}/v2/`);
  await zeroed;
  await work();
  const directory = dumpDirectory(server);
  const before = new Set(await readdir(directory));
  const dumped = exec('callgrind_control', ['--dump', String(pid)]);
  await fetch(`${server.url}/v2/`);
  await dumped;
  const file = (await readdir(directory)).find((name) => !before.has(name) && name.startsWith(`callgrind.${server.variant}.${pid}`));
  if (file === undefined) throw new Error(`${server.variant}: callgrind wrote no dump`);
  const summary = /^summary:\s*(\d+)/m.exec(await readFile(join(directory, file), 'utf8'));
  if (summary === null) throw new Error(`${server.variant}: no summary in ${file}`);
  return Number(summary[1]);
}

/** Where the dumps go: beside the config file, from the server's command line. */
function dumpDirectory(server: Server): string {
  const out = server.child.spawnargs.find((arg) => arg.startsWith('--callgrind-out-file='))!;
  return out.slice('--callgrind-out-file='.length, out.lastIndexOf('/'));
}

async function repeat(times: number, work: () => Promise<void>): Promise<void> {
  for (let i = 0; i < times; i++) await work();
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

function formatCost(perRequest: number, callgrind: boolean): string {
  return callgrind ? `${(perRequest / 1000).toFixed(1)} k instructions` : `${(perRequest * 1e6).toFixed(1)} µs CPU`;
}

/** scenario | off | logged | metrics | observed | each /off, per request: the median of the rounds. */
function table(scenarios: readonly string[], counted: ReadonlyMap<string, number[]>, callgrind: boolean): string {
  const unit = callgrind ? 'k instructions per request' : 'µs server CPU per request';
  const header = ['scenario', ...variants, ...variants.slice(1).map((variant) => `${variant}/off`)];
  const rows = scenarios.map((scenario) => {
    const cost = (variant: Variant) => median(counted.get(`${scenario}\0${variant}`) ?? []) * (callgrind ? 1e-3 : 1e6);
    const off = cost('off');
    return [scenario, ...variants.map((variant) => cost(variant).toFixed(1)), ...variants.slice(1).map((variant) => `${(cost(variant) / off).toFixed(3)}×`)];
  });
  return [`${unit} (median of rounds)`, '', `| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
}

main().catch((error: unknown) => {
  console.error(`bench:cost: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
