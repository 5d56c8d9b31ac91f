import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopology, type Topology } from '../distributed/support/topology';
import { parseLines } from './access-lines';

/**
 * Issue 18, items 1 and 4, on the multi-process topology: a request id sent by the client is in
 * the gateway's lines and in the lines of the upload instance that served it (over the Redis
 * bus and over the upload listener), and a push's spans, exported over OTLP by each process to
 * a receiver this test runs, form one trace from the gateway through the upload instance to
 * its storage driver.
 */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

/** An OTLP/HTTP receiver (JSON bodies): every span any process exported, with its service.name. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: {
          resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
          scopeSpans?: { spans?: Omit<OtlpSpan, 'service'>[] }[];
        }[];
      };
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value.stringValue ?? '';
        for (const scope of resourceSpans.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ ...span, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('one request followed across services (distributed topology)', () => {
  let topology: Topology;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    topology = await startTopology({
      // The upload instances say, at debug level, which message they ran: lines about the request.
      serviceLogLevel: 'debug',
      log: { level: 'info', formatter: 'json', fields: { service: 'registry' } },
      berth: { bus: { requesttimeout: '3s' } },
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
  });

  afterAll(async () => {
    await topology?.stop();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  it('a pushed blob: the client\'s request ids in the gateway\'s and the upload instance\'s lines, and one trace gateway → upload → driver', async () => {
    const { url, instances } = topology.berth;
    const blob = Buffer.alloc(200_000, 3);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const ids = { start: `dist-start-${Date.now()}`, append: `dist-append-${Date.now()}`, finish: `dist-finish-${Date.now()}` };
    const started = await fetch(`${url}/v2/traced/app/blobs/uploads/`, { method: 'POST', headers: { 'X-Request-Id': ids.start } });
    expect(started.status).toBe(202);
    expect(started.headers.get('x-request-id')).toBe(ids.start);
    const location = new URL(started.headers.get('location')!, url);
    const appended = await fetch(location, {
      method: 'PATCH',
      headers: { 'X-Request-Id': ids.append, 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${blob.length - 1}` },
      body: blob,
    });
    expect(appended.status).toBe(202);
    const finish = new URL(appended.headers.get('location')!, url);
    finish.searchParams.set('digest', digest);
    const finished = await fetch(finish, { method: 'PUT', headers: { 'X-Request-Id': ids.finish } });
    expect(finished.status).toBe(201);

    const gateway = instances.find((instance) => instance.service === 'gateway')!;
    const uploads = instances.filter((instance) => instance.service === 'upload');
    const linesOf = (id: string, of: typeof uploads) => of.flatMap((instance) => parseLines('json', instance.process.stderr)).filter((line) => line['http.request.id'] === id);
    for (const id of Object.values(ids)) {
      await until(`${id} is in the gateway's and an upload instance's log`, () => linesOf(id, [gateway]).length > 0 && linesOf(id, uploads).length > 0);
      expect(linesOf(id, [gateway]).find((line) => line.msg === 'response completed')).toBeDefined();
      expect(linesOf(id, uploads).map((line) => line.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^handled upload\./)]));
      for (const line of linesOf(id, uploads)) expect(line.service).toBe('registry');
    }

    // The PATCH: the gateway's server and client spans, the upload instance's span as the
    // client span's child, and its storage writes below that, all under one trace id.
    let trace: OtlpSpan[] = [];
    await until('the PATCH\'s spans from the gateway and the upload instance arrived', () => {
      const root = receiver.spans.find((span) => span.service === 'berth-gateway' && span.name === 'HTTP PATCH');
      trace = root ? receiver.spans.filter((span) => span.traceId === root.traceId) : [];
      return trace.some((span) => span.service === 'berth-upload' && span.name.startsWith('storage '));
    });
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const server = trace.find((span) => span.service === 'berth-upload' && span.name === 'upload.append')!;
    expect(server).toBeDefined();
    const client = byId.get(server.parentSpanId!)!;
    expect(client).toMatchObject({ service: 'berth-gateway', name: 'send upload.append' });
    expect(byId.get(client.parentSpanId!)).toMatchObject({ service: 'berth-gateway', name: 'HTTP PATCH' });
    const storage = trace.filter((span) => span.service === 'berth-upload' && span.name.startsWith('storage '));
    // Each storage span descends from the upload instance's span of this request.
    for (const span of storage) {
      let parent = byId.get(span.parentSpanId ?? '');
      while (parent && parent !== server) parent = byId.get(parent.parentSpanId ?? '');
      expect(parent, span.name).toBe(server);
    }
  });

  // Last: it stops the manifest instances.
  it('with no manifest instance running, a manifest GET answers 503 naming the service and the message (no address), and the gateway logs which did not answer', async () => {
    const { url, instances } = topology.berth;
    await Promise.all(instances.filter((instance) => instance.service === 'manifest').map((instance) => instance.process.stop()));
    const id = `no-manifest-${Date.now()}`;
    const res = await fetch(`${url}/v2/traced/app/manifests/v1`, { headers: { 'X-Request-Id': id } });
    expect(res.status).toBe(503);
    const { errors } = (await res.json()) as { errors: { code: string; detail: string }[] };
    expect(errors[0]).toMatchObject({ code: 'UNAVAILABLE' });
    expect(errors[0]!.detail).toBe(`the manifest service did not answer manifest.get within 3 s: is any manifest instance running? (request id ${id})`);
    expect(errors[0]!.detail).not.toMatch(/\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|localhost/);
    const gateway = instances.find((instance) => instance.service === 'gateway')!;
    await until('the gateway logged the timeout', () => parseLines('json', gateway.process.stderr).some((line) => line['http.request.id'] === id && line['bus.service'] === 'manifest'));
    expect(parseLines('json', gateway.process.stderr).find((line) => line['http.request.id'] === id && line['bus.service'] === 'manifest')).toMatchObject({
      level: 'warning',
      msg: 'no reply from the manifest service to manifest.get',
      'bus.message': 'manifest.get',
      'bus.timeout': '3000ms',
    });
  });
});
