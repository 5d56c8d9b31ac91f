import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  dropContainer,
  filesystemRegistryConfig,
  freePort,
  type MetricSamples,
  sampleDelta,
  scrapeMetrics,
  startBerth,
  startHttpRelay,
  startReferenceRegistry,
  type SwiftBackend,
} from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { SyntheticBlob } from './blob-source';
import { RegistryClient } from './registry-client';
import { pushImage } from './scenarios';

const MiB = 1024 * 1024;

/** One operation, how many times it runs, and what it does each time (`index` from 0). */
interface Operation {
  readonly name: string;
  readonly times: number;
  run(registry: RegistryClient, index: number): Promise<void>;
}

/** Per operation: requests Swift received per run (through the relay), and berth's driver calls per run (its metrics). */
export interface BackendRequestCounts {
  readonly target: 'reference' | 'berth';
  readonly perOperation: Record<string, { swiftRequests: number; driverCalls?: number; driverCallsByAction?: Record<string, number> }>;
}

/**
 * Backend requests per operation, figures that do not depend on how fast the machine is: each
 * registry talks to Swift through a counting relay (`startHttpRelay`: every request Swift
 * answered, token requests aside), and berth's own count (`berth_storage_actions_total`,
 * `http.debug.prometheus` on) is read beside it. Operations run one at a time, so nothing
 * else is counted with them.
 */
export async function countBackendRequests(swift: SwiftBackend, directory: string): Promise<BackendRequestCounts[]> {
  const results: BackendRequestCounts[] = [];
  for (const target of ['reference', 'berth'] as const) results.push(await countFor(target, swift, directory));
  return results;
}

function operations(manifest: () => Buffer): Operation[] {
  const small = Array.from({ length: 4 }, () => new SyntheticBlob(MiB));
  const large = Array.from({ length: 2 }, () => new SyntheticBlob(64 * MiB));
  return [
    { name: 'push 1 MiB (POST, PUT)', times: small.length, run: (registry, index) => registry.pushMonolithic('bench/counted', small[index]!) },
    { name: 'push 64 MiB (POST, PUT)', times: large.length, run: (registry, index) => registry.pushMonolithic('bench/counted', large[index]!) },
    { name: 'manifest HEAD by tag', times: 10, run: (registry) => registry.manifestRequest('HEAD', 'bench/counted', 'latest', manifest()) },
    { name: 'manifest GET by tag', times: 10, run: (registry) => registry.manifestRequest('GET', 'bench/counted', 'latest', manifest()) },
  ];
}

async function countFor(target: 'reference' | 'berth', swift: SwiftBackend, directory: string): Promise<BackendRequestCounts> {
  const relay = await startHttpRelay(swift.authurl);
  const container = `berth-bench-${randomBytes(4).toString('hex')}-${target}-counted`;
  const authurl = `${relay.url}${new URL(swift.authurl).pathname}`;
  const storage = { swift: { authurl, username: swift.username, password: swift.password, container }, delete: { enabled: true } };
  const root = join(directory, `${target}-counted`);
  const port = await freePort();
  const debugPort = await freePort();
  const http = new BenchHttpClient();
  let stop: () => Promise<void> = async () => {};
  try {
    let metricsUrl: string | undefined;
    if (target === 'reference') {
      const registry = await startReferenceRegistry({ rootDirectory: root, port, extraConfig: { storage } });
      stop = registry.stop;
    } else {
      const base = filesystemRegistryConfig({ rootDirectory: root, port });
      const config = { ...base, storage, http: { ...(base.http as object), debug: { addr: `127.0.0.1:${debugPort}`, prometheus: { enabled: true } } } };
      const berth = await startBerth({ config, topology: 'all-in-one' });
      stop = berth.stop;
      metricsUrl = `http://127.0.0.1:${debugPort}/metrics`;
    }
    const registry = new RegistryClient(`http://127.0.0.1:${port}`, http);
    // Untimed, uncounted: the connection to Swift made, the image whose manifest is read.
    const pushed = await pushImage(registry, 'bench/counted', 'latest', [new SyntheticBlob(64 * 1024)]);
    await registry.manifestRequest('GET', 'bench/counted', 'latest', pushed);
    const perOperation: BackendRequestCounts['perOperation'] = {};
    for (const operation of operations(() => pushed)) {
      const swiftBefore = storageRequests(relay.exchanges);
      const metricsBefore = metricsUrl === undefined ? undefined : await scrapeMetrics(metricsUrl);
      for (let index = 0; index < operation.times; index++) await operation.run(registry, index);
      // A registry may finish a request to Swift just after answering its client.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const swiftRequests = (storageRequests(relay.exchanges) - swiftBefore) / operation.times;
      if (metricsUrl === undefined || metricsBefore === undefined) {
        perOperation[operation.name] = { swiftRequests };
      } else {
        const after = await scrapeMetrics(metricsUrl);
        perOperation[operation.name] = {
          swiftRequests,
          driverCalls: sampleDelta(metricsBefore, after, 'berth_storage_actions_total') / operation.times,
          driverCallsByAction: byAction(metricsBefore, after, operation.times),
        };
      }
      console.error(`${target} (swift, counted) ${operation.name}: ${JSON.stringify(perOperation[operation.name])}`);
    }
    return { target, perOperation };
  } finally {
    http.close();
    await stop();
    await relay.close();
    await dropContainer(swift, container);
  }
}

/** Requests on Swift's storage API (`/v1/...`), the token requests left out: both registries authenticate once. */
function storageRequests(exchanges: readonly { path: string }[]): number {
  return exchanges.filter((exchange) => exchange.path.startsWith('/v1/')).length;
}

function byAction(before: MetricSamples, after: MetricSamples, times: number): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const series of after.keys()) {
    const action = /^berth_storage_actions_total\{.*action="([^"]+)"/.exec(series)?.[1];
    if (action === undefined || action in calls) continue;
    const delta = sampleDelta(before, after, 'berth_storage_actions_total', { action });
    if (delta !== 0) calls[action] = delta / times;
  }
  return calls;
}

/** The counts as a Markdown table: operation | reference | berth | berth's driver calls. */
export function formatBackendRequests(results: readonly BackendRequestCounts[]): string {
  const reference = results.find((result) => result.target === 'reference');
  const berth = results.find((result) => result.target === 'berth');
  const names = Object.keys((reference ?? berth)?.perOperation ?? {});
  const figure = (value: number | undefined) => (value === undefined ? 'n/a' : Number.isInteger(value) ? String(value) : value.toFixed(1));
  const rows = names.map((name) => {
    const mine = berth?.perOperation[name];
    const actions = Object.entries(mine?.driverCallsByAction ?? {})
      .map(([action, calls]) => `${action} ${figure(calls)}`)
      .join(', ');
    return [name, figure(reference?.perOperation[name]?.swiftRequests), figure(mine?.swiftRequests), `${figure(mine?.driverCalls)}${actions ? ` (${actions})` : ''}`];
  });
  const header = ['operation (per run)', 'reference: Swift requests', 'berth: Swift requests', "berth: driver calls (its metrics)"];
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
