import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { dump } from 'js-yaml';
import { createTempDir, filesystemRegistryConfig, freePort, htpasswdLine, repoRoot } from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { SyntheticBlob } from './blob-source';
import { cpuNanoseconds } from './process-stats';
import { RegistryClient } from './registry-client';
import { pushImage } from './scenarios';

const usage = `pnpm bench:cost [-- OPTIONS]: what logging, metrics and htpasswd auth cost berth per request

  --requests N    requests per scenario and server, each round (default 300)
  --warmup N      untimed requests of each scenario on each server first (default 3000)
  --rounds N      rounds, the servers' order rotating (default 30)
  --replicas N    servers per variant (default 2): two processes of one build differ by a few
                  per cent for their whole life (where their code and heap landed), so each
                  variant's figure pools several, and the off servers' spread is printed
  --only NAME     only this variant (off, logged, metrics, observed, htpasswd); repeatable
  --callgrind     count the server's instructions instead (valgrind --tool=callgrind): the
                  same on a busy machine as on an idle one; one server at a time, one round,
                  about 50 times slower (defaults then: --warmup 1000, --requests 500)
  --berth DIR     the built checkout whose berth to run (default: this one): two runs compare two versions
  -h, --help      this text

Variants, each an all-in-one berth on the filesystem with the bench's config.yml: off (errors
only, no access log, metrics off: the bench's berth), logged (log.level info, the access log
on, text, read from its stderr pipe, as berth-logged), metrics (http.debug.prometheus on, as
berth-metrics), observed (both on), htpasswd (auth.htpasswd, one bcrypt cost 10 user, Basic
credentials on every request, as berth-htpasswd). Scenarios, one client, one request at a time: manifest
HEAD and GET by tag, GET of a 64 KiB blob. Counted: the server's CPU time over all its threads
as the scheduler accounts it (nanoseconds), per request: unlike a rate, it does not fall
when another process takes the CPU away.`;

type Variant = 'off' | 'logged' | 'metrics' | 'observed' | 'htpasswd';
const variants: readonly Variant[] = ['off', 'logged', 'metrics', 'observed', 'htpasswd'];

interface Server {
  readonly variant: Variant;
  /** `off`, `off#2`, …: the variant and which of its replicas. */
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
      replicas: { type: 'string' },
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
  const requests = Number(values.requests ?? (callgrind ? 500 : 300));
  const warmup = Number(values.warmup ?? (callgrind ? 1000 : 3000));
  const rounds = Number(values.rounds ?? 30);
  const replicas = Number(values.replicas ?? 2);
  const wanted = variants.filter((variant) => values.only === undefined || values.only.includes(variant));
  if (callgrind) return countInstructions(wanted, values.berth, warmup, requests);
  const scratch = await createTempDir('berth-cost-');
  const servers: Server[] = [];
  try {
    for (const variant of wanted) {
      for (let replica = 1; replica <= replicas; replica++) servers.push(await startServer(variant, replica, scratch.path, values.berth));
    }
    const scenarios = await prepare(servers);
    // Every scenario warmed on every server before anything is counted: V8 has compiled the hot path by then.
    for (const server of servers) for (const scenario of scenarios) await repeat(warmup, () => scenario.run(server));
    const counted = new Map<string, number[]>();
    const byServer = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [index, scenario] of scenarios.entries()) {
        for (const server of rotated(servers, index + round)) {
          const logBefore = server.logBytes;
          const cost = await measure(server, () => repeat(requests, () => scenario.run(server)));
          const key = `${scenario.name}\0${server.variant}`;
          counted.set(key, [...(counted.get(key) ?? []), cost / requests]);
          const own = `${scenario.name}\0${server.name}`;
          byServer.set(own, [...(byServer.get(own) ?? []), cost / requests]);
          const logged = (server.logBytes - logBefore) / requests;
          console.error(`${server.name} ${scenario.name}, round ${round + 1}: ${(cost / requests / 1000).toFixed(1)} µs CPU${logged > 0 ? `, ${logged.toFixed(0)} bytes of log` : ''} per request`);
        }
      }
    }
    console.log(table(scenarios.map((scenario) => scenario.name), counted));
    if (replicas > 1 && wanted.includes('off')) console.log(`\n${noiseFloor(scenarios.map((scenario) => scenario.name), byServer, replicas)}`);
  } finally {
    for (const server of servers) await stop(server);
    await scratch.remove();
  }
}

/** One config.yml per variant: the bench's (`filesystemRegistryConfig`) with the feature switched on. */
async function startServer(variant: Variant, replica: number, directory: string, checkout: string, prefix: readonly string[] = []): Promise<Server> {
  const port = await freePort();
  const name = replica === 1 ? variant : `${variant}#${replica}`;
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
  const command = [...prefix, process.execPath, join(checkout, 'cli', 'dist', 'main.js'), 'serve', file];
  const child = spawn(command[0]!, command.slice(1), { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
  const server: Server = { variant, name, url: `http://127.0.0.1:${port}`, child, http: new BenchHttpClient(credentials), logBytes: 0 };
  let early = '';
  child.stderr.on('data', (chunk: Buffer) => {
    server.logBytes += chunk.length;
    if (early.length < 10_000) early += chunk.toString();
  });
  const deadline = Date.now() + (prefix.length > 0 ? 900_000 : 60_000);
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
  run(server: Server): Promise<void>;
}

/** The image every scenario reads, pushed to each server: one 64 KiB layer, its config, a manifest tagged `latest`. */
async function prepare(servers: readonly Server[]): Promise<Scenario[]> {
  const layer = new SyntheticBlob(64 * KiB);
  const manifests = new Map<Server, Buffer>();
  const clients = new Map<Server, RegistryClient>();
  for (const server of servers) {
    const client = new RegistryClient(server.url, server.http);
    clients.set(server, client);
    manifests.set(server, await pushImage(client, 'cost/image', 'latest', [layer]));
  }
  return [
    { name: 'manifest HEAD by tag', run: (server) => clients.get(server)!.manifestRequest('HEAD', 'cost/image', 'latest', manifests.get(server)!) },
    { name: 'manifest GET by tag', run: (server) => clients.get(server)!.manifestRequest('GET', 'cost/image', 'latest', manifests.get(server)!) },
    { name: 'blob GET, 64 KiB', run: (server) => clients.get(server)!.pullBlob('cost/image', layer) },
  ];
}

/**
 * Each variant alone under callgrind (a server under valgrind takes minutes to start, and two
 * at once slow each other): started, the image pushed, every scenario warmed, then each
 * scenario's requests counted between a `callgrind_control --zero` and a `--dump`.
 */
async function countInstructions(wanted: readonly Variant[], checkout: string, warmup: number, requests: number): Promise<void> {
  const counted = new Map<string, number[]>();
  let names: string[] = [];
  for (const variant of wanted) {
    const scratch = await createTempDir('berth-cost-');
    const prefix = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(scratch.path, 'callgrind.out')}`];
    const server = await startServer(variant, 1, scratch.path, checkout, prefix);
    try {
      const scenarios = await prepare([server]);
      names = scenarios.map((scenario) => scenario.name);
      for (const scenario of scenarios) await repeat(warmup, () => scenario.run(server));
      for (const scenario of scenarios) {
        await callgrindControl(server, '--zero');
        await repeat(requests, () => scenario.run(server));
        const before = new Set(await readdir(scratch.path));
        await callgrindControl(server, '--dump');
        const dump = (await readdir(scratch.path)).find((name) => name.startsWith('callgrind.out') && !before.has(name));
        const summary = dump === undefined ? null : /^summary:\s*(\d+)/m.exec(await readFile(join(scratch.path, dump), 'utf8'));
        if (summary === null) throw new Error(`${variant}: callgrind wrote no dump with a summary`);
        counted.set(`${scenario.name}\0${variant}`, [Number(summary[1]) / requests]);
        console.error(`${variant} ${scenario.name}: ${(Number(summary[1]) / requests / 1000).toFixed(1)} k instructions per request`);
      }
    } finally {
      await stop(server);
      await scratch.remove();
    }
  }
  console.log(table(names, counted, 'server instructions per request, thousands (callgrind)'));
}

/** callgrind_control acts when the server next runs code: a request to /v2/ (counted too, one in hundreds) wakes it. */
async function callgrindControl(server: Server, action: '--zero' | '--dump'): Promise<void> {
  const done = exec('callgrind_control', [action, String(server.child.pid)]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await fetch(`${server.url}/v2/`);
  await done;
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
function table(scenarios: readonly string[], counted: ReadonlyMap<string, number[]>, unit = 'server CPU time per request, µs'): string {
  const shown = variants.filter((variant) => [...counted.keys()].some((key) => key.endsWith(`\0${variant}`)));
  const header = ['scenario', ...shown, ...shown.slice(1).map((variant) => `${variant}/off`)];
  const rows = scenarios.map((scenario) => {
    const rounds = (variant: Variant) => (counted.get(`${scenario}\0${variant}`) ?? []).map((count) => count / 1000);
    const off = median(rounds('off'));
    const cell = (variant: Variant) => {
      const figures = rounds(variant);
      return figures.length === 1 ? figures[0]!.toFixed(1) : `${median(figures).toFixed(1)} (${Math.min(...figures).toFixed(1)}–${Math.max(...figures).toFixed(1)})`;
    };
    return [scenario, ...shown.map(cell), ...shown.slice(1).map((variant) => `${(median(rounds(variant)) / off).toFixed(3)}×`)];
  });
  return [
    [...counted.values()].some((figures) => figures.length > 1) ? `${unit}: the median of the rounds (their range)` : `${unit}, one round`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, column) => (column === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/**
 * The off servers, each on its own: identical builds and configs, so how far apart their
 * medians are is what a difference between variants must exceed to mean anything.
 */
function noiseFloor(scenarios: readonly string[], byServer: ReadonlyMap<string, number[]>, replicas: number): string {
  const names = Array.from({ length: replicas }, (_, index) => (index === 0 ? 'off' : `off#${index + 1}`));
  const rows = scenarios.map((scenario) => {
    const medians = names.map((name) => median(byServer.get(`${scenario}\0${name}`) ?? []) / 1000);
    return `| ${scenario} | ${medians.map((figure) => figure.toFixed(1)).join(' | ')} | ${(Math.max(...medians) / Math.min(...medians)).toFixed(3)}× |`;
  });
  return [
    'noise floor: the off servers alone, µs per request (median of the rounds), and the highest over the lowest',
    '',
    `| scenario | ${names.join(' | ')} | spread |`,
    `| --- |${names.map(() => ' ---: |').join('')} ---: |`,
    ...rows,
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
