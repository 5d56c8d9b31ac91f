import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  dropContainer,
  emptyBucket,
  filesystemRegistryConfig,
  freePort,
  type MetricSamples,
  sampleDelta,
  scrapeMetrics,
  startBerth,
  startHttpRelay,
  startReferenceRegistry,
  type S3Backend,
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

/** Per operation: requests the backend received per run (through the relay), and berth's driver calls per run (its metrics). */
export interface BackendRequestCounts {
  readonly target: 'reference' | 'berth';
  readonly perOperation: Record<string, { backendRequests: number; driverCalls?: number; driverCallsByAction?: Record<string, number> }>;
}

/** Where the counted registries keep their data: a Swift account, or an S3 bucket (Swift's s3api). */
export type CountedBackend = { kind: 'swift'; swift: SwiftBackend } | { kind: 's3'; s3: S3Backend; bucket: string };

/**
 * Backend requests per operation, figures that do not depend on how fast the machine is: each
 * registry talks to Swift or S3 through a counting relay (`startHttpRelay`: every request the
 * backend answered for the registry; Swift's token requests and the client's redirected blob
 * GETs aside), and berth's own count (`berth_storage_actions_total`, `http.debug.prometheus`
 * on) is read beside it. Operations run one at a time, so nothing else is counted with them.
 */
export async function countBackendRequests(backend: CountedBackend, directory: string): Promise<BackendRequestCounts[]> {
  const results: BackendRequestCounts[] = [];
  for (const target of ['reference', 'berth'] as const) results.push(await countFor(target, backend, directory));
  return results;
}

function operations(manifest: () => Buffer): Operation[] {
  const small = Array.from({ length: 4 }, () => new SyntheticBlob(MiB));
  const large = Array.from({ length: 2 }, () => new SyntheticBlob(64 * MiB));
  const chunked = Array.from({ length: 2 }, () => new SyntheticBlob(64 * MiB));
  return [
    { name: 'push 1 MiB (POST, PUT)', times: small.length, run: (registry, index) => registry.pushMonolithic('bench/counted', small[index]!) },
    { name: 'push 64 MiB (POST, PUT)', times: large.length, run: (registry, index) => registry.pushMonolithic('bench/counted', large[index]!) },
    {
      name: 'push 64 MiB in 16 MiB PATCHes (POST, 4 PATCH, PUT)',
      times: chunked.length,
      run: (registry, index) => registry.pushChunked('bench/counted', chunked[index]!, 16 * MiB),
    },
    { name: 'blob GET 64 MiB (redirect followed)', times: 4, run: (registry, index) => registry.pullBlob('bench/counted', large[index % large.length]!) },
    { name: 'manifest HEAD by tag', times: 10, run: (registry) => registry.manifestRequest('HEAD', 'bench/counted', 'latest', manifest()) },
    { name: 'manifest GET by tag', times: 10, run: (registry) => registry.manifestRequest('GET', 'bench/counted', 'latest', manifest()) },
  ];
}

async function countFor(target: 'reference' | 'berth', backend: CountedBackend, directory: string): Promise<BackendRequestCounts> {
  const relay = await startHttpRelay(backend.kind === 'swift' ? backend.swift.authurl : backend.s3.regionendpoint);
  const place = `berth-bench-${randomBytes(4).toString('hex')}-${target}-counted`;
  let storage: Record<string, unknown>;
  let dropStorage: () => Promise<void>;
  if (backend.kind === 'swift') {
    const { swift } = backend;
    const authurl = `${relay.url}${new URL(swift.authurl).pathname}`;
    // berth's blob GETs redirect to TempURLs as the reference's do (it keys the container by itself), as in the timed bench.
    const swiftKeys = { authurl, username: swift.username, password: swift.password, container: place, ...(target === 'berth' ? { tempurlcontainerkey: true } : {}) };
    storage = { swift: swiftKeys, delete: { enabled: true } };
    dropStorage = () => dropContainer(swift, place);
  } else {
    const { s3, bucket } = backend;
    // The reference 2.8 knows no forcepathstyle: with regionendpoint both go path-style anyway.
    const { forcepathstyle: _pathStyle, ...keys } = s3;
    storage = { s3: { ...keys, regionendpoint: relay.url, bucket, rootdirectory: `/${place}`, secure: false }, delete: { enabled: true } };
    dropStorage = () => emptyBucket(s3, bucket, `${place}/`);
  }
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
    // Untimed, uncounted: the connection to the backend made, the image whose manifest is read.
    const pushed = await pushImage(registry, 'bench/counted', 'latest', [new SyntheticBlob(64 * 1024)]);
    await registry.manifestRequest('GET', 'bench/counted', 'latest', pushed);
    const perOperation: BackendRequestCounts['perOperation'] = {};
    for (const operation of operations(() => pushed)) {
      const before = registryRequests(backend.kind, relay.exchanges);
      const metricsBefore = metricsUrl === undefined ? undefined : await scrapeMetrics(metricsUrl);
      for (let index = 0; index < operation.times; index++) await operation.run(registry, index);
      // A registry may finish a request to the backend just after answering its client.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const backendRequests = (registryRequests(backend.kind, relay.exchanges) - before) / operation.times;
      if (metricsUrl === undefined || metricsBefore === undefined) {
        perOperation[operation.name] = { backendRequests };
      } else {
        const after = await scrapeMetrics(metricsUrl);
        perOperation[operation.name] = {
          backendRequests,
          driverCalls: sampleDelta(metricsBefore, after, 'berth_storage_actions_total') / operation.times,
          driverCallsByAction: byAction(metricsBefore, after, operation.times),
        };
      }
      console.error(`${target} (${backend.kind}, counted) ${operation.name}: ${JSON.stringify(perOperation[operation.name])}`);
    }
    return { target, perOperation };
  } finally {
    http.close();
    await stop();
    await relay.close();
    await dropStorage();
  }
}

/**
 * Requests the registry made: on Swift those on its storage API (`/v1/...`: token requests
 * left out, both registries authenticate once), and on either backend not the client's GETs of
 * redirect URLs (a TempURL's `temp_url_sig`, a pre-signed URL's `X-Amz-Signature`), which the
 * registry only signed.
 */
function registryRequests(kind: CountedBackend['kind'], exchanges: readonly { path: string }[]): number {
  return exchanges.filter(
    (exchange) => (kind === 's3' || exchange.path.startsWith('/v1/')) && !/[?&](temp_url_sig|X-Amz-Signature)=/.test(exchange.path),
  ).length;
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
export function formatBackendRequests(results: readonly BackendRequestCounts[], backendName: 'Swift' | 'S3'): string {
  const reference = results.find((result) => result.target === 'reference');
  const berth = results.find((result) => result.target === 'berth');
  const names = Object.keys((reference ?? berth)?.perOperation ?? {});
  const figure = (value: number | undefined) => (value === undefined ? 'n/a' : Number.isInteger(value) ? String(value) : value.toFixed(1));
  const rows = names.map((name) => {
    const mine = berth?.perOperation[name];
    const actions = Object.entries(mine?.driverCallsByAction ?? {})
      .map(([action, calls]) => `${action} ${figure(calls)}`)
      .join(', ');
    return [name, figure(reference?.perOperation[name]?.backendRequests), figure(mine?.backendRequests), `${figure(mine?.driverCalls)}${actions ? ` (${actions})` : ''}`];
  });
  const header = ['operation (per run)', `reference: ${backendName} requests`, `berth: ${backendName} requests`, "berth: driver calls (its metrics)"];
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
