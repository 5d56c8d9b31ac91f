import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthProcess, createTempDir, freePort, startBerth, type TempDir } from '@berth/testing';
import { type Formatter, parseLines } from './access-lines';

/**
 * Issue 18, item 1: one access line per request in the reference's fields, in each of its
 * formatters, `log.fields` on every line, the client's X-Request-Id kept, and no secret in
 * any line. A push and a pull, each request checked field by field against what the client
 * sent and received.
 */
const secret = 'AccessLogHttpSecret-5c1e';
// Secrets elsewhere in the file: a credential in a URL, a password, a secret-named log field.
const urlPassword = 'AccessLogUrlPassw0rd-77a2';
const proxyPassword = 'AccessLogProxyPassw0rd-0d3f';
const fieldPassword = 'AccessLogFieldPassw0rd-e81b';
const userAgent = 'berth-access-log-test/1.0 (field check)';

interface Exchange {
  id: string;
  method: string;
  uri: string;
  status: number;
  sent: number;
  received: number;
  contentType: string;
}

async function exchange(url: string, id: string, method: string, uri: string, body?: Buffer | string, contentType?: string): Promise<Exchange & { headers: Headers; bytes: Buffer }> {
  const headers: Record<string, string> = { 'X-Request-Id': id, 'User-Agent': userAgent };
  if (contentType) headers['Content-Type'] = contentType;
  const res = await fetch(`${url}${uri}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    id,
    method,
    uri,
    status: res.status,
    sent: body === undefined ? 0 : Buffer.byteLength(body),
    received: bytes.length,
    contentType: res.headers.get('content-type') ?? '',
    headers: res.headers,
    bytes,
  };
}

const digestOf = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A push (config and layer blobs, then the manifest) and a pull, every request with an id of its own. */
async function pushAndPull(url: string, prefix: string): Promise<Exchange[]> {
  const done: Exchange[] = [];
  const repo = 'logs/app';
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.alloc(70_000, 7);
  let n = 0;
  const next = () => `${prefix}-${++n}`;
  for (const blob of [config, layer]) {
    const started = await exchange(url, next(), 'POST', `/v2/${repo}/blobs/uploads/`);
    expect(started.status).toBe(202);
    done.push(started);
    const location = new URL(started.headers.get('location')!, url);
    location.searchParams.set('digest', digestOf(blob));
    const put = await exchange(url, next(), 'PUT', `${location.pathname}${location.search}`, blob, 'application/octet-stream');
    expect(put.status).toBe(201);
    done.push(put);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
  });
  const putManifest = await exchange(url, next(), 'PUT', `/v2/${repo}/manifests/v1`, manifest, 'application/vnd.oci.image.manifest.v1+json');
  expect(putManifest.status).toBe(201);
  done.push(putManifest);
  const getManifest = await exchange(url, next(), 'GET', `/v2/${repo}/manifests/v1`);
  expect(getManifest.status).toBe(200);
  done.push(getManifest);
  const getLayer = await exchange(url, next(), 'GET', `/v2/${repo}/blobs/${digestOf(layer)}`);
  expect(getLayer.status).toBe(200);
  expect(getLayer.received).toBe(layer.length);
  done.push(getLayer);
  const missing = await exchange(url, next(), 'GET', `/v2/${repo}/manifests/absent`);
  expect(missing.status).toBe(404);
  done.push(missing);
  return done;
}

/** The access line of `sent` carries exactly what the client sent and received. */
function expectAccessLine(line: Record<string, unknown>, sent: Exchange, host: string): void {
  expect(line).toMatchObject({
    level: 'info',
    msg: 'response completed',
    service: 'registry',
    'http.request.id': sent.id,
    'http.request.method': sent.method,
    'http.request.uri': sent.uri,
    'http.request.proto': 'HTTP/1.1',
    'http.request.host': host,
    'http.request.useragent': userAgent,
    'auth.user.name': '',
    'http.response.contenttype': sent.contentType,
  });
  // The text formatter's values are text: numbers compared as such.
  expect(Number(line['http.request.read'])).toBe(sent.sent);
  expect(Number(line['http.response.status'])).toBe(sent.status);
  expect(Number(line['http.response.written'])).toBe(sent.received);
  expect(line['http.request.remoteaddr']).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(line['http.response.duration']).toMatch(/^\d+(\.\d+)?(ns|µs|ms|s)$/);
  expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
}

describe.each<Formatter>(['text', 'json', 'logstash'])('the access log, log.formatter %s', (formatter) => {
  let work: TempDir;
  let berth: BerthProcess;
  let port: number;

  beforeAll(async () => {
    work = await createTempDir('berth-access-log-');
    port = await freePort();
    berth = await startBerth({
      topology: 'all-in-one',
      config: {
        version: '0.1',
        log: { level: 'info', formatter, fields: { service: 'registry', password: fieldPassword } },
        storage: { filesystem: { rootdirectory: `${work.path}/registry` } },
        http: { addr: `127.0.0.1:${port}`, secret },
        proxy: { remoteurl: `https://someone:${urlPassword}@registry.invalid`, username: 'someone', password: proxyPassword },
      },
    });
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('one line per request of a push and a pull, every field as the client saw it, log.fields on every line, no secret', async () => {
    const exchanges = await pushAndPull(berth.url, `${formatter}-req`);
    // The line is written when the response closes: the pipe may lag a little behind.
    const lines = () => parseLines(formatter, berth.stderr);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      if (exchanges.every((sent) => lines().some((line) => line['http.request.id'] === sent.id))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const all = lines();
    for (const sent of exchanges) {
      const access = all.filter((line) => line['http.request.id'] === sent.id && line.msg === 'response completed');
      expect(access, `${sent.method} ${sent.uri}`).toHaveLength(1);
      expectAccessLine(access[0]!, sent, `127.0.0.1:${port}`);
    }
    expect(all.length).toBeGreaterThan(exchanges.length);
    for (const line of all) expect(line.service, JSON.stringify(line)).toBe('registry');
    for (const value of [secret, urlPassword, proxyPassword, fieldPassword]) expect(`${berth.stdout}${berth.stderr}`).not.toContain(value);
    expect(all[0]?.password).toBe('*****');
  });
});

describe('log.accesslog.disabled and log.level', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-access-log-off-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('no access line when disabled; no info line at all under log.level warn, Nest\'s own included', async () => {
    const port = await freePort();
    const berth = await startBerth({
      topology: 'all-in-one',
      config: {
        version: '0.1',
        log: { level: 'warn', formatter: 'json', accesslog: { disabled: true } },
        storage: { filesystem: { rootdirectory: `${work.path}/registry` } },
        http: { addr: `127.0.0.1:${port}` },
      },
    });
    try {
      await pushAndPull(berth.url, 'off');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lines = parseLines('json', berth.stderr);
      expect(lines.filter((line) => line.msg === 'response completed')).toEqual([]);
      expect(lines.filter((line) => line.level === 'info' || line.level === 'debug')).toEqual([]);
    } finally {
      await berth.stop();
    }
  });
});
