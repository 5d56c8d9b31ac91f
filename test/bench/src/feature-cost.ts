import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { dump } from 'js-yaml';
import { createTempDir, filesystemRegistryConfig, freePort, htpasswdLine, repoRoot } from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { SyntheticBlob } from './blob-source';
import { cpuNanoseconds } from './process-stats';
import { RegistryClient } from './registry-client';
import { inParallel, pushImage } from './scenarios';

const usage = `pnpm bench:cost [-- OPTIONS]: what logging, metrics and htpasswd auth cost berth per request

  --requests N    counted requests per scenario and server (default 5000)
  --warmup N      untimed requests of each scenario on each server first (default 10000:
                  V8 still optimizes the hot path, on threads counted here, for some 15,000
                  requests of one scenario)
  --clients N     requests in flight on each server, each from a client of its own (default 1)
  --rounds N      rounds (default 4): in each, every variant runs side by side with an off
                  of its own, two servers at a time, so that the machine's slow and fast
                  spells fall on both alike; a ratio is the median of the pairs' own ratios
  --only NAME     only this variant (off, twin, logged, metrics, observed, htpasswd); repeatable
  --callgrind     count the server's instructions instead (valgrind --tool=callgrind): the
                  same on a busy machine as on an idle one, about 50 times slower (defaults
                  then: --warmup 1000, --requests 1000, --rounds 1)
  --berth DIR     the built checkout whose berth to run (default: this one): two runs compare two versions
  -h, --help      this text

Variants, each an all-in-one berth on the filesystem with the bench's config.yml: off (errors
only, no access log, metrics off: the bench's berth), logged (log.level info, the access log
on, text, read from its stderr pipe, as berth-logged), metrics (http.debug.prometheus on, as
berth-metrics), observed (both on), htpasswd (auth.htpasswd, one bcrypt cost 10 user, Basic
credentials on every request, as berth-htpasswd), twin (off again: what two identical servers
measure side by side, the noise floor). Scenarios, one client per server (--clients: that many),
one request at a time each: manifest HEAD and GET by tag, GET of a 64 KiB blob, both servers'
clients at once. The servers run on every core but the first, the bench on the first.
Counted: each server's CPU time over all its threads as the scheduler accounts it
(nanoseconds), per request: unlike a rate, it does not fall when another process takes the
CPU away.`;

type Variant = 'off' | 'twin' | 'logged' | 'metrics' | 'observed' | 'htpasswd';
const variants: readonly Variant[] = ['off', 'twin', 'logged', 'metrics', 'observed', 'htpasswd'];

interface Server {
  readonly variant: Variant;
  /** `off`, `off#2`, …: the variant and which round. */
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Its client: one keep-alive agent, with Basic credentials on every request for `htpasswd`. */
  readonly http: BenchHttpClient;
  /** Bytes the server wrote to stderr (its log), read as a collector would. */
  logBytes: number;
}

const KiB = 1024;
const exec = promisify(execFile);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      clients: { type: 'string', default: '1' },
      berth: { type: 'string', default: repoRoot },
      only: { type: 'string', multiple: true },
      callgrind: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const callgrind = values.callgrind === true;
  const requests = Number(values.requests ?? (callgrind ? 1000 : 5000));
  const warmup = Number(values.warmup ?? (callgrind ? 1000 : 10000));
  const rounds = Number(values.rounds ?? (callgrind ? 1 : 4));
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 1) throw new Error(`--clients ${values.clients}: a whole number from 1`);
  const wanted = variants.filter((variant) => values.only === undefined || values.only.includes(variant));
  const pinned = callgrind ? [] : await pinApart();
  const node = (directory: string) => (callgrind ? underCallgrind(directory) : [...pinned, process.execPath]);
  // Each variant beside an off of its own: two servers at a time, however many variants.
  const others = wanted.filter((variant) => variant !== 'off');
  const pairs = others.length === 0 ? [['off' as const]] : others.map((variant) => (wanted.includes('off') ? ['off' as const, variant] : [variant]));
  const run: Run = { warmup, requests, clients, callgrind, checkout: values.berth, node };
  // scenario and variant → one figure per pair it ran in; its ratio to the off beside it.
  const counted = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  let names: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const pair of rotated(pairs, round - 1)) {
      const figures = await sideBySide(pair, round, run);
      names = [...figures.keys()];
      for (const [scenario, byVariant] of figures) {
        const off = byVariant.get('off');
        for (const [variant, figure] of byVariant) {
          append(counted, `${scenario}\0${variant}`, figure);
          if (variant !== 'off' && off !== undefined) append(ratios, `${scenario}\0${variant}`, figure / off);
        }
      }
    }
  }
  console.log(table(names, counted, ratios, callgrind ? 'server instructions per request, thousands (callgrind)' : 'server CPU time per request, µs'));
}

interface Run {
  readonly warmup: number;
  readonly requests: number;
  /** Requests in flight on each server at once. */
  readonly clients: number;
  readonly callgrind: boolean;
  /** The built checkout whose berth runs. */
  readonly checkout: string;
  /** How to start Node: its path, after taskset or valgrind and before its flags. */
  readonly node: (directory: string) => string[];
}

/**
 * `variants`' servers side by side, each with a client of its own, every scenario warmed and
 * then counted on all of them at once: the machine's slow and fast spells fall on all alike.
 * Scenario → variant → its count per request.
 */
async function sideBySide(variants: readonly Variant[], round: number, run: Run): Promise<Map<string, Map<Variant, number>>> {
  const scratch = await createTempDir('berth-cost-');
  const servers: Server[] = [];
  const figures = new Map<string, Map<Variant, number>>();
  try {
    for (const variant of variants) servers.push(await startServer(variant, round, scratch.path, run.checkout, run.node(scratch.path)));
    const prepared = await Promise.all(servers.map((server) => prepare(server)));
    const names = prepared[0]!.map((scenario) => scenario.name);
    // Every scenario warmed before anything is counted: V8 has compiled the hot path by then.
    for (const [index] of names.entries()) await Promise.all(prepared.map((scenarios) => repeat(run.warmup, run.clients, () => scenarios[index]!.run())));
    for (const [index, scenario] of names.entries()) {
      const logBefore = servers.map((server) => server.logBytes);
      const counts = await Promise.all(
        servers.map((server, at) => {
          const count = run.callgrind ? countInstructions(server, scratch.path) : countCpu(server);
          return count(() => repeat(run.requests, run.clients, () => prepared[at]![index]!.run()));
        }),
      );
      const byVariant = new Map<Variant, number>();
      for (const [at, server] of servers.entries()) {
        const perRequest = counts[at]! / run.requests;
        byVariant.set(server.variant, perRequest);
        const logged = (server.logBytes - logBefore[at]!) / run.requests;
        console.error(`${server.name} ${scenario}: ${(perRequest / 1000).toFixed(1)} ${run.callgrind ? 'k instructions' : 'µs CPU'}${logged > 0 ? `, ${logged.toFixed(0)} bytes of log` : ''} per request`);
      }
      figures.set(scenario, byVariant);
    }
  } finally {
    await Promise.all(servers.map((server) => stop(server)));
    await scratch.remove();
  }
  return figures;
}

/** One config.yml per variant: the bench's (`filesystemRegistryConfig`) with the feature switched on. */
async function startServer(variant: Variant, round: number, directory: string, checkout: string, node: readonly string[]): Promise<Server> {
  const port = await freePort();
  const name = round === 1 ? variant : `${variant}#${round}`;
  const root = join(directory, name);
  const config = filesystemRegistryConfig({ rootDirectory: root, port }) as Record<string, unknown> & { http: Record<string, unknown> };
  if (variant === 'logged' || variant === 'observed') {
    config.log = { level: 'info', formatter: 'text', fields: { service: 'registry' } };
  }
  if (variant === 'metrics' || variant === 'observed') {
    config.http = { ...config.http, debug: { addr: `127.0.0.1:${await freePort()}`, prometheus: { enabled: true } } };
  }
  let credentials: { origin: string; authorization: string } | undefined;
  if (variant === 'htpasswd') {
    // As the bench's berth-htpasswd: one bcrypt cost 10 user, Basic credentials on every request.
    const path = join(directory, `${name}.htpasswd`);
    await writeFile(path, `${htpasswdLine('bench', 'bench-password')}\n`);
    config.auth = { htpasswd: { realm: 'bench', path } };
    credentials = { origin: `http://127.0.0.1:${port}`, authorization: `Basic ${Buffer.from('bench:bench-password').toString('base64')}` };
  }
  const file = join(directory, `${name}.yml`);
  await writeFile(file, dump(config));
  const command = [...node, join(checkout, 'cli', 'dist', 'main.js'), 'serve', file];
  const child = spawn(command[0]!, command.slice(1), { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
  const server: Server = { variant, name, url: `http://127.0.0.1:${port}`, child, http: new BenchHttpClient(credentials), logBytes: 0 };
  let early = '';
  child.stderr.on('data', (chunk: Buffer) => {
    server.logBytes += chunk.length;
    if (early.length < 10_000) early += chunk.toString();
  });
  const deadline = Date.now() + (node[0] === 'valgrind' ? 900_000 : 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${early}`);
    const answered = await fetch(`${server.url}/v2/`).then((response) => response.status, () => 0);
    if (answered === 200 || (answered === 401 && credentials !== undefined)) return server;
    if (Date.now() > deadline) throw new Error(`${name} did not answer /v2/ in time: ${early}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Scenario {
  readonly name: string;
  run(): Promise<void>;
}

/** The image every scenario reads, pushed to the server: one 64 KiB layer, its config, a manifest tagged `latest`. */
async function prepare(server: Server): Promise<Scenario[]> {
  const layer = new SyntheticBlob(64 * KiB);
  const client = new RegistryClient(server.url, server.http);
  const manifest = await pushImage(client, 'cost/image', 'latest', [layer]);
  return [
    { name: 'manifest HEAD by tag', run: () => client.manifestRequest('HEAD', 'cost/image', 'latest', manifest) },
    { name: 'manifest GET by tag', run: () => client.manifestRequest('GET', 'cost/image', 'latest', manifest) },
    { name: 'blob GET, 64 KiB', run: () => client.pullBlob('cost/image', layer) },
  ];
}

/**
 * The bench on the first core, the servers on the others, so that the client and the server
 * never share a core or trade places (a migration, a wake-up across cores costs the server CPU
 * that the feature being measured did not). Nothing to pin on one core.
 */
async function pinApart(): Promise<string[]> {
  const cores = availableParallelism();
  if (cores < 2) return [];
  await exec('taskset', ['-p', '-c', '0', String(process.pid)]);
  return ['taskset', '-c', `1-${cores - 1}`];
}

/**
 * Node under callgrind, with V8's timing taken out of the count. V8 schedules its collections by
 * the clock (the memory reducer collects when allocation slows, the heap grows by rate) and
 * compiles and marks on background threads: 50 times slower, the server looked idle to it, and
 * one build's counts swung by up to 2.5 times between runs. `--predictable-gc-schedule` fixes the
 * schedule and `--single-threaded` does that work on the main thread, the same for every variant.
 */
function underCallgrind(directory: string): string[] {
  return ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(directory, 'callgrind.out.%p')}`, process.execPath, '--predictable-gc-schedule', '--single-threaded'];
}

type Count = (work: () => Promise<unknown>) => Promise<number>;

/** The server's CPU time over all its threads, in nanoseconds, while `work` runs. */
function countCpu(server: Server): Count {
  return async (work) => {
    const before = cpuNanoseconds(server.child.pid!);
    await work();
    return cpuNanoseconds(server.child.pid!) - before;
  };
}

/** The server's instructions while `work` runs: callgrind zeroed before, dumped after (a new file of its pid's in `directory`). */
function countInstructions(server: Server, directory: string): Count {
  return async (work) => {
    await callgrindControl(server, '--zero');
    await work();
    const before = new Set(await readdir(directory));
    await callgrindControl(server, '--dump');
    const dump = (await readdir(directory)).find((name) => name.startsWith(`callgrind.out.${server.child.pid}.`) && !before.has(name));
    const summary = dump === undefined ? null : /^summary:\s*(\d+)/m.exec(await readFile(join(directory, dump), 'utf8'));
    if (summary === null) throw new Error(`${server.name}: callgrind wrote no dump with a summary`);
    return Number(summary[1]);
  };
}

/** callgrind_control acts when the server next runs code: a request to /v2/ (counted too, one in hundreds) wakes it. */
async function callgrindControl(server: Server, action: '--zero' | '--dump'): Promise<void> {
  const done = exec('callgrind_control', [action, String(server.child.pid)]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await fetch(`${server.url}/v2/`);
  await done;
}

/** `work` done `times` times in all, `clients` at a time. */
function repeat(times: number, clients: number, work: () => Promise<void>): Promise<void> {
  return inParallel(Array.from({ length: times }), clients, work);
}

function append(map: Map<string, number[]>, key: string, value: number): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * scenario | each variant: the median of its figures and their range (off's from every pair) |
 * each against off: the median of its pairs' own ratios (the two ran side by side, so the
 * machine's spells cancel within a pair) and their range. twin/off is the noise floor.
 */
function table(scenarios: readonly string[], counted: ReadonlyMap<string, number[]>, ratios: ReadonlyMap<string, number[]>, unit: string): string {
  const shown = variants.filter((variant) => [...counted.keys()].some((key) => key.endsWith(`\0${variant}`)));
  const against = shown.includes('off') ? shown.filter((variant) => variant !== 'off') : [];
  const header = ['scenario', ...shown, ...against.map((variant) => `${variant}/off`)];
  const spread = (all: readonly number[], digits: number, suffix = '') =>
    all.length === 1 ? `${all[0]!.toFixed(digits)}${suffix}` : `${median(all).toFixed(digits)}${suffix} (${Math.min(...all).toFixed(digits)}–${Math.max(...all).toFixed(digits)})`;
  const rows = scenarios.map((scenario) => {
    const figures = (variant: Variant) => (counted.get(`${scenario}\0${variant}`) ?? []).map((count) => count / 1000);
    const againstOff = against.map((variant) => spread(ratios.get(`${scenario}\0${variant}`) ?? [], 3, '×'));
    return [scenario, ...shown.map((variant) => spread(figures(variant), 1)), ...againstOff];
  });
  return [
    [...counted.values()].some((all) => all.length > 1) ? `${unit}: the median of the rounds (their range)` : `${unit}, one round`,
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
  server.http.close();
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
