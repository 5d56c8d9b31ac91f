import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { InternalRequestSigner, postStreamMessage, SIGNATURE_HEADER } from '@berth/bus';
import { UploadPattern, type UploadProgress } from '@berth/contracts';
import type { BerthInstance } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pathOf, startUpload, withQuery } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

const MiB = 1024 * 1024;
const MESSAGE_HEADER = 'x-berth-message';
const HAS_BODY_HEADER = 'x-berth-body';

function encodeMessage(request: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(request)).toString('base64url');
}

/** A request made by hand to an internal listener, as anyone who reaches its port could. */
function rawPost(address: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), method: 'POST', path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The session id and signed state of an upload Location. */
function sessionOf(location: string): { id: string; state: string } {
  const url = new URL(location, 'http://placeholder');
  return { id: url.pathname.split('/').at(-1)!, state: url.searchParams.get('_state')! };
}

describe('upload sessions across upload instances', () => {
  let topology: Topology;
  let uploads: BerthInstance[];
  /** As the gateway signs: these tests stand in for it. */
  let signer: InternalRequestSigner;

  beforeAll(async () => {
    topology = await startTopology();
    uploads = topology.berth.instances.filter((instance) => instance.service === 'upload');
    signer = new InternalRequestSigner(topology.secret);
  });

  afterAll(async () => {
    await topology?.stop();
  });

  /** The upload instance the gateway will send this session's next chunk to (the one that took the last). */
  async function instanceHolding(id: string): Promise<BerthInstance> {
    const holder = await topology.redis.command('GET', `${topology.berth.keyPrefix}:upload:affinity:${id}`);
    const instance = uploads.find((upload) => upload.id === holder);
    expect(instance, `the instance that took upload ${id}'s last chunk`).toBeDefined();
    return instance!;
  }

  async function finishAndPull(repo: string, location: string, blob: Buffer): Promise<void> {
    const digest = digestOf(blob);
    const put = await http(topology.berth.url).put(withQuery(location, { digest }));
    expect(put.status, put.text).toBe(201);
    const pulled = await http(topology.berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
    expect(pulled.status).toBe(200);
    expect(digestOf(pulled.body as Buffer)).toBe(digest);
  }

  it('runs two upload instances, each on a port of its own', () => {
    expect(uploads).toHaveLength(2);
    expect(new Set(uploads.map((upload) => upload.address)).size).toBe(2);
  });

  it('takes chunks alternating between the two instances and verifies the whole blob', async () => {
    const repo = 'distributed/alternating';
    const blob = randomBytes(4 * MiB + 123);
    const session = sessionOf(await startUpload(topology.berth.url, repo));
    const id = session.id;
    let state = session.state;
    const agent = new Agent();
    try {
      const size = MiB;
      for (let start = 0, index = 0; start < blob.length; start += size, index++) {
        const chunk = blob.subarray(start, Math.min(start + size, blob.length));
        // Straight to one instance, then the other: neither has seen the chunk before.
        const instance = uploads[index % 2]!;
        const reply = (await postStreamMessage(
          instance.address!,
          {
            pattern: UploadPattern.Append,
            request: { repository: repo, id, state, range: { start, end: start + chunk.length - 1 }, length: chunk.length },
            body: Readable.from([chunk]),
          },
          agent,
          signer,
        )) as UploadProgress;
        expect(reply.offset).toBe(start + chunk.length);
        state = reply.state;
      }
    } finally {
      agent.destroy();
    }
    await finishAndPull(repo, `/v2/${repo}/blobs/uploads/${id}?_state=${encodeURIComponent(state)}`, blob);
  });

  it('a chunk sent to an instance whose session another instance advanced is refused (RANGE_INVALID)', async () => {
    const repo = 'distributed/stale';
    const { id, state } = sessionOf(await startUpload(topology.berth.url, repo));
    const agent = new Agent();
    try {
      const first = { repository: repo, id, state, range: { start: 0, end: 9 }, length: 10 };
      await postStreamMessage(uploads[0]!.address!, { pattern: UploadPattern.Append, request: first, body: Readable.from([randomBytes(10)]) }, agent, signer);
      // The same first chunk again, on the other instance: storage already holds 10 bytes.
      const again = postStreamMessage(uploads[1]!.address!, { pattern: UploadPattern.Append, request: first, body: Readable.from([randomBytes(10)]) }, agent, signer);
      await expect(again).rejects.toMatchObject({ code: 'RANGE_INVALID', status: 416 });
    } finally {
      agent.destroy();
    }
  });

  it('a chunk sent around the gateway (unsigned, signed with a guessed secret, or a signed one replayed) is refused 401 and writes nothing', async () => {
    const repo = 'distributed/around';
    const location = await startUpload(topology.berth.url, repo);
    const { id, state } = sessionOf(location);
    const instance = uploads[0]!.address!;
    const request = { repository: repo, id, state, range: { start: 0, end: 9 }, length: 10 };
    const headers = { [MESSAGE_HEADER]: encodeMessage(request), [HAS_BODY_HEADER]: '1', 'content-length': '10' };
    const sign = (by: InternalRequestSigner) => by.sign({ method: 'POST', path: `/messages/${UploadPattern.Append}`, target: instance, headers });
    const unsigned = await rawPost(instance, `/messages/${UploadPattern.Append}`, headers, randomBytes(10));
    const guessed = await rawPost(instance, `/messages/${UploadPattern.Append}`, { ...headers, [SIGNATURE_HEADER]: sign(new InternalRequestSigner('guess')) }, randomBytes(10));
    expect([unsigned.status, guessed.status]).toEqual([401, 401]);
    expect(unsigned.text).toContain('UNAUTHORIZED');
    // Nothing was written: the upload still holds no byte.
    const status = await http(topology.berth.url).get(pathOf(location));
    expect([status.status, status.headers.range]).toEqual([204, '0-0']);
    // A request the gateway signed, caught on the wire and sent again, is refused the second time.
    const signed = { ...headers, [SIGNATURE_HEADER]: sign(signer) };
    expect((await rawPost(instance, `/messages/${UploadPattern.Append}`, signed, randomBytes(10))).status).toBe(200);
    expect((await rawPost(instance, `/messages/${UploadPattern.Append}`, signed, randomBytes(10))).status).toBe(401);
  });

  it('an instance SIGKILLed between chunks: the gateway sends the next chunk to the other, and the blob verifies', async () => {
    const repo = 'distributed/killed-between';
    const blob = randomBytes(3 * MiB);
    let location = await startUpload(topology.berth.url, repo);
    const first = await http(topology.berth.url)
      .patch(location)
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `0-${MiB - 1}`)
      .send(blob.subarray(0, MiB));
    expect(first.status, first.text).toBe(202);
    location = pathOf(first.headers.location);
    const victim = await instanceHolding(sessionOf(location).id);

    victim.process.kill('SIGKILL');
    await victim.process.waitForExit();

    const second = await http(topology.berth.url)
      .patch(location)
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `${MiB}-${2 * MiB - 1}`)
      .send(blob.subarray(MiB, 2 * MiB));
    expect(second.status, second.text).toBe(202);
    location = pathOf(second.headers.location);
    expect((await instanceHolding(sessionOf(location).id)).id).not.toBe(victim.id);

    const digest = digestOf(blob);
    const put = await http(topology.berth.url)
      .put(withQuery(location, { digest }))
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', `${2 * MiB}-${3 * MiB - 1}`)
      .send(blob.subarray(2 * MiB));
    expect(put.status, put.text).toBe(201);
    const pulled = await http(topology.berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
    expect(digestOf(pulled.body as Buffer)).toBe(digest);
  });
});
