import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dump } from 'js-yaml';
import { createTempDir, filesystemRegistryConfig, freePort, repoRoot } from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { SyntheticBlob } from './blob-source';
import { cpuNanoseconds } from './process-stats';
import { RegistryClient } from './registry-client';
import { pushImage } from './scenarios';

const usage = `pnpm bench:cost [-- OPTIONS]: what logging and metrics cost berth per request

  --requests N    requests per scenario and variant, each round (default 2000)
  --warmup N      untimed requests of each scenario on each server first (default 3000)
  --rounds N      rounds, the variants' order rotating (default 5)
  --berth DIR     the built checkout whose berth to run (default: this one): two runs compare two versions
  -h, --help      this text

Variants, each an all-in-one berth on the filesystem with the bench's config.yml: off (errors
only, no access log, metrics off: the bench's berth), logged (log.level info, the access log
on, text, read from its stderr pipe, as berth-logged), metrics (http.debug.prometheus on, as
berth-metrics), observed (both on). Scenarios, one client, one request at a time: manifest
HEAD and GET by tag, GET of a 64 KiB blob. Counted: the server's CPU time over all its threads
as the scheduler accounts it (nanoseconds), per request: unlike a rate, it does not fall
when another process takes the CPU away.`;

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
      berth: { type: 'string', default: repoRoot },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const requests = Number(values.requests ?? 2000);
  const warmup = Number(values.warmup ?? 3000);
  const rounds = Number(values.rounds ?? 5);
  const scratch = await createTempDir('berth-cost-');
  const servers: Server[] = [];
  const http = new BenchHttpClient();
  try {
    for (const variant of variants) servers.push(await startServer(variant, scratch.path, values.berth));
    const scenarios = await prepare(servers, http);
    // Every scenario warmed on every server before anything is counted: V8 has compiled the hot path by then.
    for (const server of servers) for (const scenario of scenarios) await repeat(warmup, () => scenario.run(server));
    const counted = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [index, scenario] of scenarios.entries()) {
        for (const server of rotated(servers, index + round)) {
          const logBefore = server.logBytes;
          const cost = await measure(server, () => repeat(requests, () => scenario.run(server)));
          const key = `${scenario.name}\0${server.variant}`;
          counted.set(key, [...(counted.get(key) ?? []), cost / requests]);
          const logged = (server.logBytes - logBefore) / requests;
          console.error(`${server.variant} ${scenario.name}, round ${round + 1}: ${(cost / requests / 1000).toFixed(1)} µs CPU${logged > 0 ? `, ${logged.toFixed(0)} bytes of log` : ''} per request`);
        }
      }
    }
    console.log(table(scenarios.map((scenario) => scenario.name), counted));
  } finally {
    http.close();
    for (const server of servers) await stop(server);
    await scratch.remove();
  }
}

/** One config.yml per variant: the bench's (`filesystemRegistryConfig`) with the feature switched on. */
async function startServer(variant: Variant, directory: string, checkout: string): Promise<Server> {
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
  const child = spawn(process.execPath, [join(checkout, 'cli', 'dist', 'main.js'), 'serve', file], { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
  const server: Server = { variant, url: `http://127.0.0.1:${port}`, child, logBytes: 0 };
  let early = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    server.logBytes += chunk.length;
    if (early.length < 10_000) early += chunk.toString();
  });
  const deadline = Date.now() + 60_000;
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

/** The server's CPU time, in nanoseconds, while `work` runs. */
async function measure(server: Server, work: () => Promise<unknown>): Promise<number> {
  const before = cpuNanoseconds(server.child.pid!);
  await work();
  return cpuNanoseconds(server.child.pid!) - before;
}

async function repeat(times: number, work: () => Promise<void>): Promise<void> {
  for (let i = 0; i < times; i++) await work();
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** scenario | off | logged | metrics | observed | each against off: µs per request, the median of the rounds, and their range. */
function table(scenarios: readonly string[], counted: ReadonlyMap<string, number[]>): string {
  const header = ['scenario', ...variants, ...variants.slice(1).map((variant) => `${variant}/off`)];
  const rows = scenarios.map((scenario) => {
    const rounds = (variant: Variant) => (counted.get(`${scenario}\0${variant}`) ?? []).map((ns) => ns / 1000);
    const off = median(rounds('off'));
    const cell = (variant: Variant) => {
      const figures = rounds(variant);
      return `${median(figures).toFixed(1)} (${Math.min(...figures).toFixed(1)}–${Math.max(...figures).toFixed(1)})`;
    };
    return [scenario, ...variants.map(cell), ...variants.slice(1).map((variant) => `${(median(rounds(variant)) / off).toFixed(3)}×`)];
  });
  return [
    'server CPU time per request, µs: the median of the rounds (their range)',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, column) => (column === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
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
