import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type BerthProcess,
  createTempDir,
  freePort,
  type MetricSamples,
  sampleDelta,
  sampleSum,
  scrapeMetrics,
  startBerth,
  type TempDir,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `http.debug.prometheus`: scraped before and after known traffic, the deltas must be exactly
 * that traffic: requests by route, method and status, bytes pushed and pulled, storage driver
 * calls, upload sessions, bus calls. No health check runs, so nothing else calls the driver.
 */
const repository = 'metrics/demo';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function pushBlob(url: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const started = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const finished = await fetch(location, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  expect(finished.status).toBe(201);
  return digest;
}

interface Image {
  layer: Buffer;
  manifest: Buffer;
  layerDigest: string;
  configBytes: number;
}

async function pushImage(url: string, tag: string): Promise<Image> {
  const layer = randomBytes(1024 * 1024 + 17);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
  const layerDigest = await pushBlob(url, layer);
  const configDigest = await pushBlob(url, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const put = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(put.status).toBe(201);
  return { layer, manifest, layerDigest, configBytes: config.length };
}

/** The storage calls between two scrapes, by action (`berth_storage_actions_total`). */
function driverCalls(before: MetricSamples, after: MetricSamples): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const series of after.keys()) {
    const action = /^berth_storage_actions_total\{.*action="([^"]+)"/.exec(series)?.[1];
    if (action === undefined || action in calls) continue;
    const delta = sampleDelta(before, after, 'berth_storage_actions_total', { action });
    if (delta !== 0) calls[action] = delta;
  }
  return calls;
}

describe('Prometheus metrics (all-in-one, filesystem)', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let metricsUrl: string;
  let debugUrl: string;

  beforeAll(async () => {
    work = await createTempDir('berth-metrics-');
    const debugPort = await freePort();
    debugUrl = `http://127.0.0.1:${debugPort}`;
    metricsUrl = `${debugUrl}/metrics`;
    berth = await startBerth({
      topology: 'all-in-one',
      config: {
        version: '0.1',
        log: { level: 'error' },
        storage: { filesystem: { rootdirectory: join(work.path, 'root') }, maintenance: { uploadpurging: { enabled: false } } },
        http: { addr: `127.0.0.1:${await freePort()}`, debug: { addr: `127.0.0.1:${debugPort}`, prometheus: { enabled: true } } },
      },
    });
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('a push and a pull: requests by route, method and status; bytes pushed and pulled; upload sessions; bus calls', async () => {
    const before = await scrapeMetrics(metricsUrl);
    const image = await pushImage(berth.url, 'v1');
    const got = await fetch(`${berth.url}/v2/${repository}/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(Buffer.from(await got.arrayBuffer()).equals(image.manifest)).toBe(true);
    expect((await fetch(`${berth.url}/v2/${repository}/manifests/v1`, { method: 'HEAD' })).status).toBe(200);
    const blob = await fetch(`${berth.url}/v2/${repository}/blobs/${image.layerDigest}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(image.layer)).toBe(true);
    const after = await scrapeMetrics(metricsUrl);

    const requests = (handler: string, method: string, code: string) => sampleDelta(before, after, 'registry_http_requests_total', { handler, method, code });
    expect(requests('blob_upload', 'POST', '202')).toBe(2);
    expect(requests('blob_upload_chunk', 'PUT', '201')).toBe(2);
    expect(requests('manifest', 'PUT', '201')).toBe(1);
    expect(requests('manifest', 'GET', '200')).toBe(1);
    expect(requests('manifest', 'HEAD', '200')).toBe(1);
    expect(requests('blob', 'GET', '200')).toBe(1);
    expect(sampleDelta(before, after, 'registry_http_requests_total')).toBe(8);
    expect(sampleDelta(before, after, 'registry_http_request_duration_seconds_count')).toBe(8);
    expect(sampleSum(after, 'registry_http_in_flight_requests')).toBe(0);

    expect(sampleDelta(before, after, 'berth_pushed_bytes_total', { kind: 'blob' })).toBe(image.layer.length + image.configBytes);
    expect(sampleDelta(before, after, 'berth_pushed_bytes_total', { kind: 'manifest' })).toBe(image.manifest.length);
    expect(sampleDelta(before, after, 'berth_pulled_bytes_total', { kind: 'blob' })).toBe(image.layer.length);
    expect(sampleDelta(before, after, 'berth_pulled_bytes_total', { kind: 'manifest' })).toBe(image.manifest.length);

    expect(sampleDelta(before, after, 'berth_upload_sessions_started_total')).toBe(2);
    expect(sampleDelta(before, after, 'berth_upload_sessions_ended_total', { outcome: 'committed' })).toBe(2);
    expect(sampleDelta(before, after, 'berth_upload_sessions_open')).toBe(0);

    expect(sampleDelta(before, after, 'berth_bus_calls_total', { message: 'upload.start', outcome: 'ok' })).toBe(2);
    expect(sampleDelta(before, after, 'berth_bus_calls_total', { message: 'upload.finish', outcome: 'ok' })).toBe(2);
    expect(sampleDelta(before, after, 'berth_bus_calls_total', { message: 'manifest.get', outcome: 'ok' })).toBe(2);
    expect(sampleDelta(before, after, 'berth_bus_calls_total', { outcome: 'timeout' })).toBe(0);
    expect(sampleDelta(before, after, 'berth_bus_call_duration_seconds_count')).toBe(sampleDelta(before, after, 'berth_bus_calls_total'));

    // Every storage call is counted once in the reference's histogram and once in berth's counter.
    const calls = driverCalls(before, after);
    console.log(`[metrics] storage calls of one 1 MiB image pushed and pulled: ${JSON.stringify(calls)}`);
    expect(calls.Writer).toBeGreaterThanOrEqual(2);
    expect(calls.Commit).toBeGreaterThanOrEqual(2);
    expect(sampleDelta(before, after, 'registry_storage_action_seconds_count')).toBe(sampleDelta(before, after, 'berth_storage_actions_total'));
    expect(sampleDelta(before, after, 'berth_storage_actions_total', { outcome: 'error' })).toBe(0);
  });

  it('backend calls per manifest GET by tag can be read off: the same for every GET, and counted by driver and outcome', async () => {
    await pushImage(berth.url, 'v2');
    // The first GET reads the manifest's bytes from storage; later ones find them in the process's cache.
    let before = await scrapeMetrics(metricsUrl);
    expect((await fetch(`${berth.url}/v2/${repository}/manifests/v2`)).status).toBe(200);
    console.log(`[metrics] storage calls of the first manifest GET by tag: ${JSON.stringify(driverCalls(before, await scrapeMetrics(metricsUrl)))}`);
    const perGet: Record<string, number>[] = [];
    for (let round = 0; round < 3; round++) {
      before = await scrapeMetrics(metricsUrl);
      expect((await fetch(`${berth.url}/v2/${repository}/manifests/v2`)).status).toBe(200);
      const after = await scrapeMetrics(metricsUrl);
      perGet.push(driverCalls(before, after));
      expect(sampleDelta(before, after, 'berth_storage_actions_total', { driver: 'filesystem' })).toBe(sampleDelta(before, after, 'berth_storage_actions_total'));
    }
    console.log(`[metrics] storage calls per later manifest GET by tag: ${JSON.stringify(perGet[0])}`);
    expect(Object.values(perGet[0]!).reduce((sum, calls) => sum + calls, 0)).toBeGreaterThan(0);
    expect(perGet[1]).toEqual(perGet[0]);
    expect(perGet[2]).toEqual(perGet[0]);
  });

  it('a missing manifest counts a not_found storage call and a 404 request, not an error', async () => {
    const before = await scrapeMetrics(metricsUrl);
    expect((await fetch(`${berth.url}/v2/${repository}/manifests/absent`)).status).toBe(404);
    const after = await scrapeMetrics(metricsUrl);
    expect(sampleDelta(before, after, 'registry_http_requests_total', { handler: 'manifest', code: '404' })).toBe(1);
    expect(sampleDelta(before, after, 'berth_storage_actions_total', { outcome: 'not_found' })).toBeGreaterThan(0);
    expect(sampleDelta(before, after, 'berth_storage_actions_total', { outcome: 'error' })).toBe(0);
  });

  it('process metrics are there; /livez and /readyz answer beside them', async () => {
    const samples = await scrapeMetrics(metricsUrl);
    expect(sampleSum(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleSum(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    const live = await fetch(`${debugUrl}/livez`);
    expect([live.status, await live.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(`${debugUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { storage: 'ok', health: 'ok' } });
  });
});

describe('Prometheus metrics switched off (the default)', () => {
  it('no /metrics (404 as the reference), /livez and /readyz still served', async () => {
    const work = await createTempDir('berth-metrics-off-');
    const debugPort = await freePort();
    const berth = await startBerth({
      topology: 'all-in-one',
      config: {
        version: '0.1',
        log: { level: 'error' },
        storage: { filesystem: { rootdirectory: join(work.path, 'root') } },
        http: { addr: `127.0.0.1:${await freePort()}`, debug: { addr: `127.0.0.1:${debugPort}` } },
      },
    });
    try {
      expect((await fetch(`http://127.0.0.1:${debugPort}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${debugPort}/livez`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${debugPort}/readyz`)).status).toBe(200);
    } finally {
      await berth.stop();
      await work.remove();
    }
  });
});

describe('Prometheus metrics, distributed: each process serves its own (berth.debug.addr)', () => {
  let work: TempDir;
  let berth: BerthProcess;
  const debugUrls = new Map<string, string>();

  beforeAll(async () => {
    work = await createTempDir('berth-metrics-distributed-');
    const gatewayDebug = `127.0.0.1:${await freePort()}`;
    berth = await startBerth({
      topology: 'distributed',
      readyTimeoutMs: 90_000,
      config: {
        version: '0.1',
        log: { level: 'error' },
        storage: { filesystem: { rootdirectory: join(work.path, 'root') }, maintenance: { uploadpurging: { enabled: false } } },
        http: { addr: `127.0.0.1:${await freePort()}`, debug: { addr: gatewayDebug, prometheus: { enabled: true } } },
        // Port 0: one file for every instance, each on a free port it logs.
        berth: { debug: { addr: '127.0.0.1:0' } },
      },
    });
    for (const [index, instance] of berth.instances.entries()) {
      // The gateway's is http.debug.addr; the others log theirs (their log level is info).
      const addr = instance.service === 'gateway' ? gatewayDebug : /debug server listening on ([0-9.]+:\d+)/.exec(instance.process.stderr)?.[1];
      if (addr === undefined) throw new Error(`${instance.service} logged no debug address:\n${instance.process.stderr}`);
      debugUrls.set(`${instance.service}-${index}`, `http://${addr}`);
    }
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('every instance answers /metrics, /livez and /readyz; the blob bytes pushed add up over the upload instances, the calls in the gateway', async () => {
    // Instances after the gateway start side by side: their order (the key's index) varies from run to run.
    expect([...debugUrls.keys()].map((key) => key.replace(/-\d+$/, '')).sort()).toEqual(['gateway', 'health', 'manifest', 'manifest', 'upload', 'upload']);
    const scrapeAll = async () => new Map(await Promise.all([...debugUrls].map(async ([name, url]) => [name, await scrapeMetrics(`${url}/metrics`)] as const)));
    const before = await scrapeAll();
    const image = await pushImage(berth.url, 'v1');
    expect((await fetch(`${berth.url}/v2/${repository}/manifests/v1`)).status).toBe(200);
    const after = await scrapeAll();

    const sumOver = (prefix: string, name: string, labels: Record<string, string> = {}) =>
      [...debugUrls.keys()].filter((key) => key.startsWith(prefix)).reduce((sum, key) => sum + sampleDelta(before.get(key)!, after.get(key)!, name, labels), 0);
    expect(sumOver('upload', 'berth_pushed_bytes_total', { kind: 'blob' })).toBe(image.layer.length + image.configBytes);
    expect(sumOver('upload', 'berth_upload_sessions_started_total')).toBe(2);
    expect(sumOver('gateway', 'berth_pushed_bytes_total', { kind: 'manifest' })).toBe(image.manifest.length);
    expect(sumOver('gateway', 'registry_http_requests_total', { handler: 'manifest', method: 'GET', code: '200' })).toBe(1);
    expect(sumOver('gateway', 'berth_bus_calls_total', { message: 'upload.finish', outcome: 'ok' })).toBe(2);
    expect(sumOver('gateway', 'berth_bus_calls_total', { message: 'manifest.put', outcome: 'ok' })).toBe(1);
    // The manifest instances did the manifest's storage work; none of them serves HTTP.
    expect(sumOver('manifest', 'berth_storage_actions_total')).toBeGreaterThan(0);
    expect(sumOver('manifest', 'registry_http_requests_total')).toBe(0);
    // Read from Redis at the scrape: nothing waits once every call was answered.
    expect(after.get('gateway-0')!.get('berth_bus_queue_depth{message="manifest.get"}')).toBe(0);
    expect(after.get('gateway-0')!.get('berth_bus_queue_depth{message="upload.start"}')).toBe(0);

    for (const [name, url] of debugUrls) {
      expect((await fetch(`${url}/livez`)).status, name).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      const body = (await ready.json()) as { checks: Record<string, string> };
      expect(ready.status, `${name}: ${JSON.stringify(body)}`).toBe(200);
      expect(Object.keys(body.checks).sort(), name).toEqual(name.startsWith('gateway') ? ['health', 'peers', 'redis', 'storage'] : ['redis', 'storage']);
    }
  });
});
