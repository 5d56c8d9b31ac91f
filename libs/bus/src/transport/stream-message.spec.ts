import { Agent, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciError } from '@berth/oci';
import { freePort } from '@berth/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { InternalRequestSigner, SIGNATURE_HEADER } from './internal-request-signer';
import { encodeMessage, HAS_BODY_HEADER, HEARTBEAT_MS, InstanceUnreachableError, MESSAGE_HEADER, postStreamMessage } from './stream-message-client';
import { StreamMessageServer } from './stream-message-server';

const MiB = 1024 * 1024;
const cleanups: (() => unknown)[] = [];
/** Both ends hold it, as every berth service holds http.secret. */
const signer = new InternalRequestSigner('the cluster secret');

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A body of `total` bytes made on demand; `pulled` says how much the sender was asked for. */
function lazyBody(total: number): { body: Readable; pulled: () => number } {
  let made = 0;
  const body = new Readable({
    read() {
      if (made >= total) return void this.push(null);
      const size = Math.min(64 * 1024, total - made);
      made += size;
      this.push(Buffer.alloc(size, 7));
    },
  });
  return { body, pulled: () => made };
}

async function serve(handlers: Record<string, (request: Record<string, unknown> & { body?: Readable }) => Promise<unknown>>): Promise<string> {
  const server = new StreamMessageServer({ addr: '127.0.0.1:0', patterns: Object.keys(handlers), signer });
  for (const [pattern, handler] of Object.entries(handlers)) server.addHandler(pattern, handler);
  await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error instanceof Error ? reject(error) : resolve())));
  cleanups.push(() => server.close());
  return server.address!;
}

function agent(): Agent {
  const created = new Agent({ keepAlive: true });
  cleanups.push(() => created.destroy());
  return created;
}

describe('streamed messages over HTTP', () => {
  it('hands the handler the request and the body as a stream, and the reply back', async () => {
    const address = await serve({
      'test.count': async ({ body, id }) => {
        let received = 0;
        for await (const chunk of body!) received += (chunk as Buffer).length;
        return { id, received };
      },
    });
    const { body } = lazyBody(8 * MiB);
    const reply = await postStreamMessage(address, { pattern: 'test.count', request: { id: 'x', length: 8 * MiB }, body }, agent(), signer);
    expect(reply).toEqual({ id: 'x', received: 8 * MiB });
  });

  it('a message without a body reaches the handler without one', async () => {
    const address = await serve({ 'test.nobody': async (request) => ({ hasBody: 'body' in request }) });
    expect(await postStreamMessage(address, { pattern: 'test.nobody', request: {} }, agent(), signer)).toEqual({ hasBody: false });
  });

  it('a refusal before the body is read comes back as its OciError, and the sender stops reading the body', async () => {
    const address = await serve({
      'test.refuse': async () => {
        throw new OciError('RANGE_INVALID', 'the chunk starts at 5, the upload holds 0 bytes', 416);
      },
    });
    const { body, pulled } = lazyBody(64 * MiB);
    const error = await postStreamMessage(address, { pattern: 'test.refuse', request: { length: 64 * MiB }, body }, agent(), signer).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OciError);
    expect(error).toMatchObject({ code: 'RANGE_INVALID', status: 416 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Backpressure: the socket and stream buffers hold a few MiB at most, never the 64.
    expect(pulled()).toBeLessThan(16 * MiB);
  });

  it('a handler that fails while taking the body leaves no connection behind that the next message would wait on', async () => {
    // As the upload service when storage fails mid-chunk: the pipeline tears the body down, the
    // error is answered. The body was small enough to leave the sender whole, so its
    // connection would go back to the pool; the next message must be served, not wait in silence.
    const address = await serve({
      'test.storage-down': async ({ body }) => {
        const storage = new Writable({ write: (_chunk, _encoding, callback) => setTimeout(() => callback(new Error('storage down')), 5) });
        await pipeline(body!, storage).catch(() => {
          throw new OciError('UNAVAILABLE', 'storage down');
        });
        return {};
      },
      'test.echo': async () => ({ answered: true }),
    });
    const pool = agent();
    const failed = postStreamMessage(address, { pattern: 'test.storage-down', request: { length: 200 * 1024 }, body: lazyBody(200 * 1024).body }, pool, signer);
    await expect(failed).rejects.toMatchObject({ code: 'UNAVAILABLE', detail: 'storage down' });
    await expect(postStreamMessage(address, { pattern: 'test.echo', request: {} }, pool, signer, 1_000)).resolves.toEqual({ answered: true });
  });

  it('an address where nothing listens is unreachable before a byte of the body is taken', async () => {
    const { body, pulled } = lazyBody(MiB);
    const error = await postStreamMessage(`127.0.0.1:${await freePort()}`, { pattern: 'test.any', request: {}, body }, agent(), signer).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InstanceUnreachableError);
    expect(pulled()).toBe(0);
  });

  it('an instance that dies mid-body is UNAVAILABLE', async () => {
    let server: StreamMessageServer | undefined;
    const address = await (async () => {
      server = new StreamMessageServer({ addr: '127.0.0.1:0', patterns: ['test.die'], signer });
      server.addHandler('test.die', async ({ body }: { body: Readable }) => {
        for await (const _chunk of body) {
          // The first bytes arrived: the process "dies" (every connection cut).
          server!.unwrap<import('node:http').Server>().closeAllConnections();
        }
        return {};
      });
      await new Promise<void>((resolve) => server!.listen(() => resolve()));
      cleanups.push(() => server!.close());
      return server.address!;
    })();
    const { body } = lazyBody(8 * MiB);
    await expect(postStreamMessage(address, { pattern: 'test.die', request: { length: 8 * MiB }, body }, agent(), signer)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  /** A frozen instance: the kernel takes the connection (and, with `reads`, the bytes), nothing ever answers. */
  async function frozenInstance(reads: boolean): Promise<string> {
    const server = createServer((socket) => {
      if (reads) socket.resume();
      else socket.pause();
    });
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('a frozen instance that took the whole request is UNAVAILABLE once silent for the bound, not waited for for ever', async () => {
    const address = await frozenInstance(true);
    const { body } = lazyBody(1024);
    await expect(postStreamMessage(address, { pattern: 'test.frozen', request: { length: 1024 }, body }, agent(), signer, 1_000)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('a frozen instance that stopped reading mid-body is UNAVAILABLE, and says the connection must close', async () => {
    const address = await frozenInstance(false);
    const { body, pulled } = lazyBody(256 * MiB);
    const error = await postStreamMessage(address, { pattern: 'test.frozen', request: { length: 256 * MiB }, body }, agent(), signer, 1_000).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', headers: { Connection: 'close' } });
    expect(pulled()).toBeLessThan(256 * MiB);
  });

  it('a handler that works longer than the bound is waited for: its instance says it is alive meanwhile', async () => {
    const address = await serve({
      'test.slow': async ({ body }) => {
        for await (const _chunk of body!) {
          // Read it all, then work a while.
        }
        await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS));
        return { done: true };
      },
    });
    const { body } = lazyBody(MiB);
    const reply = await postStreamMessage(address, { pattern: 'test.slow', request: { length: MiB }, body }, agent(), signer, 2.5 * HEARTBEAT_MS);
    expect(reply).toEqual({ done: true });
  });

  it.each(['0.0.0.0:0', ':0'])('announces a wildcard listener (%s) under the hostname, which other machines can dial', async (addr) => {
    const server = new StreamMessageServer({ addr, patterns: ['test.echo'], signer });
    server.addHandler('test.echo', async () => ({ answered: true }));
    await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error instanceof Error ? reject(error) : resolve())));
    cleanups.push(() => server.close());
    expect(server.address).toMatch(new RegExp(`^${hostname().replace(/[.]/g, '\\.')}:\\d+$`));
    await expect(postStreamMessage(server.address!, { pattern: 'test.echo', request: {} }, agent(), signer)).resolves.toEqual({ answered: true });
  });
});

/** A request made by hand, as someone who reaches the port around the gateway would make it. */
function rawPost(address: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, method: 'POST', path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the internal listener serves only requests signed by berth', () => {
  async function serveCounting(): Promise<{ address: string; calls: () => number }> {
    let calls = 0;
    const address = await serve({
      'upload.append': async ({ body }) => {
        calls++;
        for await (const _chunk of body!) void _chunk;
        return { taken: true };
      },
    });
    return { address, calls: () => calls };
  }

  /** The headers postStreamMessage sends for a 5-byte body, signed by `by` for `target`. */
  function signedHeaders(target: string, request: Record<string, unknown>, by = signer): Record<string, string> {
    const headers = { [MESSAGE_HEADER]: encodeMessage(request), [HAS_BODY_HEADER]: '1', 'content-length': '5' };
    return { ...headers, [SIGNATURE_HEADER]: by.sign({ method: 'POST', path: '/messages/upload.append', target, headers }) };
  }

  it('a request without a signature is refused 401 UNAUTHORIZED and reaches no handler', async () => {
    const { address, calls } = await serveCounting();
    const request = { repository: 'a/b', id: 'x', length: 5 };
    const answer = await rawPost(address, '/messages/upload.append', { [MESSAGE_HEADER]: encodeMessage(request), [HAS_BODY_HEADER]: '1' }, 'bytes');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toMatchObject({ err: { code: 'UNAUTHORIZED' } });
    expect(answer.text).toContain('not signed');
    expect(calls()).toBe(0);
  });

  it('a request signed with another secret is refused', async () => {
    const { address, calls } = await serveCounting();
    const answer = await rawPost(address, '/messages/upload.append', signedHeaders(address, { id: 'x' }, new InternalRequestSigner('a guess')), 'bytes');
    expect([answer.status, answer.text.includes('bad signature')]).toEqual([401, true]);
    expect(calls()).toBe(0);
  });

  it('a signed request is served once: the same request replayed is refused', async () => {
    const { address, calls } = await serveCounting();
    const headers = signedHeaders(address, { id: 'x' });
    expect((await rawPost(address, '/messages/upload.append', headers, 'bytes')).status).toBe(200);
    const replay = await rawPost(address, '/messages/upload.append', headers, 'bytes');
    expect([replay.status, replay.text.includes('replayed')]).toEqual([401, true]);
    expect(calls()).toBe(1);
  });

  it('a signed request altered (its message, its path, its length) or sent to another instance is refused', async () => {
    const first = await serveCounting();
    const second = await serveCounting();
    const headers = signedHeaders(first.address, { id: 'x', range: { start: 0, end: 4 } });
    const altered = [
      { ...headers, [MESSAGE_HEADER]: encodeMessage({ id: 'y', range: { start: 0, end: 4 } }) },
      { ...headers, 'x-berth-body': '0' },
    ];
    for (const changed of altered) expect((await rawPost(first.address, '/messages/upload.append', changed, 'bytes')).status).toBe(401);
    expect((await rawPost(first.address, '/messages/upload.finish', headers, 'bytes')).status).toBe(401);
    expect((await rawPost(first.address, '/messages/upload.append', headers, 'bytes and more')).status).toBe(401);
    expect((await rawPost(second.address, '/messages/upload.append', headers, 'bytes')).status).toBe(401);
    expect(first.calls() + second.calls()).toBe(0);
    // The untouched request is still good where it was meant to go: nothing above spent its nonce.
    expect((await rawPost(first.address, '/messages/upload.append', headers, 'bytes')).status).toBe(200);
  });

  it('a signature older (or newer) than its validity is refused', async () => {
    const { address, calls } = await serveCounting();
    const past = new InternalRequestSigner('the cluster secret', { now: () => Date.now() - 31_000 });
    const future = new InternalRequestSigner('the cluster secret', { now: () => Date.now() + 31_000 });
    for (const by of [past, future]) {
      const answer = await rawPost(address, '/messages/upload.append', signedHeaders(address, { id: 'x' }, by), 'bytes');
      expect([answer.status, answer.text.includes('expired')]).toEqual([401, true]);
    }
    expect(calls()).toBe(0);
  });
});
