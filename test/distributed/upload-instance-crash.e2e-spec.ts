import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BerthInstance } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamedRequest } from '../e2e/support/raw-http';
import { http, pathOf, startUpload, withQuery } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

const MiB = 1024 * 1024;

async function waitUntilLarger(file: string, size: number, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; (await stat(file)).size <= size; ) {
    if (Date.now() > deadline) throw new Error(`${file} did not grow past ${size} bytes`);
    await sleep(20);
  }
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe('an upload instance killed in the middle of a chunk', () => {
  let topology: Topology;
  let uploads: BerthInstance[];

  beforeAll(async () => {
    topology = await startTopology();
    uploads = topology.berth.instances.filter((instance) => instance.service === 'upload');
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it('answers 503, and the client resumes from the status offset on the other instance', async () => {
    const repo = 'distributed/killed-mid-chunk';
    const blob = randomBytes(3 * MiB);
    let location = await startUpload(topology.berth.url, repo);
    const first = await http(topology.berth.url)
      .patch(location)
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `0-${MiB - 1}`)
      .send(blob.subarray(0, MiB));
    expect(first.status, first.text).toBe(202);
    location = pathOf(first.headers.location);
    const id = new URL(location, 'http://placeholder').pathname.split('/').at(-1)!;
    const holder = await topology.redis.command('GET', `${topology.berth.keyPrefix}:upload:affinity:${id}`);
    const victim = uploads.find((upload) => upload.id === holder)!;
    expect(victim).toBeDefined();

    // Half of the second chunk is sent; once some of it is in the upload's file, the instance dies.
    const data = join(topology.root, 'docker/registry/v2/repositories', repo, '_uploads', id, 'data');
    const cut = await streamedRequest(topology.berth.url, 'PATCH', location, { 'content-range': `${MiB}-${3 * MiB - 1}`, 'content-length': 2 * MiB }, [
      blob.subarray(MiB, MiB + MiB / 2),
      () => waitUntilLarger(data, MiB),
      () => victim.process.kill('SIGKILL'),
    ]);
    expect(cut.status, cut.body).toBe(503);
    expect(JSON.parse(cut.body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE' }] });

    // The spec's recovery: ask where the upload stands, continue from there.
    const status = await http(topology.berth.url).get(location);
    expect(status.status, status.text).toBe(204);
    const held = Number(/^0-(\d+)$/.exec(status.headers.range as string)![1]) + 1;
    expect(held).toBeGreaterThanOrEqual(MiB);
    expect(held).toBeLessThanOrEqual(MiB + MiB / 2);

    const rest = await http(topology.berth.url)
      .patch(location)
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `${held}-${blob.length - 1}`)
      .send(blob.subarray(held));
    expect(rest.status, rest.text).toBe(202);
    const digest = digestOf(blob);
    const put = await http(topology.berth.url).put(withQuery(pathOf(rest.headers.location), { digest }));
    expect(put.status, put.text).toBe(201);
    const pulled = await http(topology.berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
    expect(digestOf(pulled.body as Buffer)).toBe(digest);
  });

  it('closes the connection of a client that keeps sending: it learns at once, not after its whole body', async () => {
    const repo = 'distributed/killed-mid-chunk-still-sending';
    const chunk = randomBytes(MiB);
    const first = await http(topology.berth.url)
      .patch(await startUpload(topology.berth.url, repo))
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `0-${MiB - 1}`)
      .send(chunk);
    expect(first.status, first.text).toBe(202);
    const location = pathOf(first.headers.location);
    const id = new URL(location, 'http://placeholder').pathname.split('/').at(-1)!;
    const holder = await topology.redis.command('GET', `${topology.berth.keyPrefix}:upload:affinity:${id}`);
    // The instance left alive by the first test.
    const victim = uploads.find((upload) => upload.id === holder);
    expect(victim).toBeDefined();

    // A client that reads its answer only once its body is sent, as a plain socket: 8 MiB declared.
    const url = new URL(topology.berth.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let answer = '';
    socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      [`PATCH ${location} HTTP/1.1`, `Host: ${url.host}`, 'Content-Type: application/octet-stream', `Content-Range: ${MiB}-${9 * MiB - 1}`, `Content-Length: ${8 * MiB}`, '', ''].join('\r\n'),
    );
    socket.write(chunk.subarray(0, MiB / 2));
    await sleep(500);
    victim!.process.kill('SIGKILL');

    // The rest, 64 KiB at a time, unless the connection closes first.
    let sent = MiB / 2;
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    while (!isClosed && sent < 8 * MiB) {
      await new Promise<void>((resolve) => socket.write(chunk.subarray(0, 64 * 1024), () => resolve()));
      sent += 64 * 1024;
      await sleep(10);
    }
    expect(sent, 'the client was cut off before it sent its whole body').toBeLessThan(8 * MiB);
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('connection: close');
  });
});
