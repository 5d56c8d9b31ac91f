import { Agent } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { OciError } from '@berth/oci';
import { freePort } from '@berth/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, InstanceUnreachableError, postStreamMessage } from './stream-message-client';
import { StreamMessageServer } from './stream-message-server';

const MiB = 1024 * 1024;
const cleanups: (() => unknown)[] = [];

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
  const server = new StreamMessageServer({ addr: '127.0.0.1:0', patterns: Object.keys(handlers) });
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
    const reply = await postStreamMessage(address, { pattern: 'test.count', request: { id: 'x', length: 8 * MiB }, body }, agent());
    expect(reply).toEqual({ id: 'x', received: 8 * MiB });
  });

  it('a message without a body reaches the handler without one', async () => {
    const address = await serve({ 'test.nobody': async (request) => ({ hasBody: 'body' in request }) });
    expect(await postStreamMessage(address, { pattern: 'test.nobody', request: {} }, agent())).toEqual({ hasBody: false });
  });

  it('a refusal before the body is read comes back as its OciError, and the sender stops reading the body', async () => {
    const address = await serve({
      'test.refuse': async () => {
        throw new OciError('RANGE_INVALID', 'the chunk starts at 5, the upload holds 0 bytes', 416);
      },
    });
    const { body, pulled } = lazyBody(64 * MiB);
    const error = await postStreamMessage(address, { pattern: 'test.refuse', request: { length: 64 * MiB }, body }, agent()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OciError);
    expect(error).toMatchObject({ code: 'RANGE_INVALID', status: 416 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Backpressure: the socket and stream buffers hold a few MiB at most, never the 64.
    expect(pulled()).toBeLessThan(16 * MiB);
  });

  it('an address where nothing listens is unreachable before a byte of the body is taken', async () => {
    const { body, pulled } = lazyBody(MiB);
    const error = await postStreamMessage(`127.0.0.1:${await freePort()}`, { pattern: 'test.any', request: {}, body }, agent()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InstanceUnreachableError);
    expect(pulled()).toBe(0);
  });

  it('an instance that dies mid-body is UNAVAILABLE', async () => {
    let server: StreamMessageServer | undefined;
    const address = await (async () => {
      server = new StreamMessageServer({ addr: '127.0.0.1:0', patterns: ['test.die'] });
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
    await expect(postStreamMessage(address, { pattern: 'test.die', request: { length: 8 * MiB }, body }, agent())).rejects.toMatchObject({
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
    await expect(postStreamMessage(address, { pattern: 'test.frozen', request: { length: 1024 }, body }, agent(), 1_000)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('a frozen instance that stopped reading mid-body is UNAVAILABLE, and says the connection must close', async () => {
    const address = await frozenInstance(false);
    const { body, pulled } = lazyBody(256 * MiB);
    const error = await postStreamMessage(address, { pattern: 'test.frozen', request: { length: 256 * MiB }, body }, agent(), 1_000).catch((caught: unknown) => caught);
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
    const reply = await postStreamMessage(address, { pattern: 'test.slow', request: { length: MiB }, body }, agent(), 2.5 * HEARTBEAT_MS);
    expect(reply).toEqual({ done: true });
  });

  it.each(['0.0.0.0:0', ':0'])('announces a wildcard listener (%s) under the hostname, which other machines can dial', async (addr) => {
    const server = new StreamMessageServer({ addr, patterns: ['test.echo'] });
    server.addHandler('test.echo', async () => ({ answered: true }));
    await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error instanceof Error ? reject(error) : resolve())));
    cleanups.push(() => server.close());
    expect(server.address).toMatch(new RegExp(`^${hostname().replace(/[.]/g, '\\.')}:\\d+$`));
    await expect(postStreamMessage(server.address!, { pattern: 'test.echo', request: {} }, agent())).resolves.toEqual({ answered: true });
  });
});
