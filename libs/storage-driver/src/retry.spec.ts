import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isReplayableBody, isTransientError, isTransientStatus, retryDelay, type RetryPolicy, withRetry } from './retry';

const quick: RetryPolicy = { attempts: 4, firstDelayMs: 1, maxDelayMs: 4 };

/** An HTTP server that resets the first `resets` connections, then answers `statuses` in turn, then 200. */
class FlakyServer {
  private server!: Server;
  resets = 0;
  statuses: number[] = [];
  requests = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests++;
      if (this.resets > 0) {
        this.resets--;
        req.socket.resetAndDestroy();
        return;
      }
      res.statusCode = this.statuses.shift() ?? 200;
      res.end('body');
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One real HTTP request; a status the policy calls transient is thrown as the SDKs do. */
async function get(url: string): Promise<number> {
  const response = await request(url, { reset: true });
  await response.body.dump();
  if (response.statusCode >= 400) throw Object.assign(new Error(`status ${response.statusCode}`), { statusCode: response.statusCode });
  return response.statusCode;
}

describe('the shared retry policy', () => {
  const flaky = new FlakyServer();
  let url: string;
  beforeAll(async () => {
    url = await flaky.start();
  });
  afterAll(() => flaky.stop());

  it('calls 429 and 500/502/503/504 transient, other statuses answers', () => {
    for (const status of [429, 500, 502, 503, 504]) expect(isTransientStatus(status)).toBe(true);
    for (const status of [200, 400, 401, 403, 404, 409, 412, 416, 501]) expect(isTransientStatus(status)).toBe(false);
  });

  it('finds the status where each SDK keeps it', () => {
    expect(isTransientError({ $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransientError({ status: 502 })).toBe(true);
    expect(isTransientError({ statusCode: 429 })).toBe(true);
    expect(isTransientError({ code: 504 })).toBe(true);
    expect(isTransientError({ name: 'SlowDown', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(isTransientError({ $metadata: { httpStatusCode: 404 }, name: 'NoSuchKey' })).toBe(false);
    expect(isTransientError({ status: 403, code: 'AccessDenied' })).toBe(false);
    // ali-oss: a socket hung up before any answer (its code lost), and a timeout.
    expect(isTransientError({ name: 'ResponseError', code: 'ResponseError', status: -1, message: 'socket hang up' })).toBe(true);
    expect(isTransientError({ status: -2 })).toBe(true);
    expect(isTransientError(new Error('boom'))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });

  it('calls a real connection reset and a refused connection transient', async () => {
    flaky.resets = 1;
    const reset = await get(url).catch((error: unknown) => error);
    expect(isTransientError(reset)).toBe(true);
    const refused = await get('http://127.0.0.1:1/').catch((error: unknown) => error);
    expect(isTransientError(refused)).toBe(true);
  });

  it('retries resets and 503s of a replayable call until it succeeds', async () => {
    flaky.requests = 0;
    flaky.resets = 1;
    flaky.statuses = [503, 500];
    await expect(withRetry(() => get(url), { policy: quick, replayable: true })).resolves.toBe(200);
    expect(flaky.requests).toBe(4);
  });

  it('gives up after the policy attempts with the last failure', async () => {
    flaky.requests = 0;
    flaky.statuses = [503, 503, 503, 503, 503];
    await expect(withRetry(() => get(url), { policy: quick, replayable: true })).rejects.toMatchObject({ statusCode: 503 });
    expect(flaky.requests).toBe(4);
    flaky.statuses = [];
  });

  it('never retries a failure that is an answer', async () => {
    flaky.requests = 0;
    flaky.statuses = [404];
    await expect(withRetry(() => get(url), { policy: quick, replayable: true })).rejects.toMatchObject({ statusCode: 404 });
    expect(flaky.requests).toBe(1);
  });

  it('never retries a call whose body was a stream', async () => {
    flaky.requests = 0;
    flaky.statuses = [503];
    await expect(withRetry(() => get(url), { policy: quick, replayable: false })).rejects.toMatchObject({ statusCode: 503 });
    expect(flaky.requests).toBe(1);
  });

  it('tells replayable bodies from streams', () => {
    expect(isReplayableBody(undefined)).toBe(true);
    expect(isReplayableBody('text')).toBe(true);
    expect(isReplayableBody(Buffer.from('x'))).toBe(true);
    expect(isReplayableBody(new Uint8Array(1))).toBe(true);
    expect(isReplayableBody(Readable.from(['x']))).toBe(false);
    expect(isReplayableBody((async function* () {})())).toBe(false);
  });

  it('backs off exponentially, capped, with jitter between half and all of the step', () => {
    const policy: RetryPolicy = { attempts: 9, firstDelayMs: 100, maxDelayMs: 1_600 };
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1_600, 1_600]);
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(policy, a, () => 0))).toEqual([50, 100, 200, 400, 800, 800]);
  });
});
