import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { PrivateSwift } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwiftAuth } from './swift.auth';
import { objectUrl } from './swift.client';
import { SwiftHttp } from './swift.http';

/**
 * A Swift proxy frozen mid-conversation (SIGSTOP: the kernel still accepts connections and
 * buffers bytes, nobody answers) costs each request one silence timeout, then a clear error,
 * whatever the request was doing: waiting for an answer, sending a body, reading one. The
 * soak's "Swift proxy stopped" found a PUT left unanswered; before these bounds a request to a
 * proxy that stopped answering waited 5 minutes for headers and for ever for a body.
 */
const SILENCE_MS = 1_500;
/** Far above the silence allowed, far below the 5 minutes of before: only a lost bound fails. */
const BOUND_MS = 15_000;
const MiB = 1024 * 1024;

describe('swift http: a frozen proxy fails each request after one silence timeout', { timeout: 120_000 }, () => {
  let swift: PrivateSwift;
  let http: SwiftHttp;
  let token: string;
  let url: (name: string) => string;

  beforeAll(async () => {
    swift = await PrivateSwift.start();
    http = new SwiftHttp({ insecureSkipVerify: false, silenceTimeoutMs: SILENCE_MS });
    const session = await new SwiftAuth(swift.backend, http).session();
    token = session.token;
    url = (name) => objectUrl(session.storageUrl, 'berth-http-silence', name);
    const created = await http.send({ method: 'PUT', url: objectUrl(session.storageUrl, 'berth-http-silence', undefined), headers: { 'x-auth-token': token }, idempotent: true });
    await created.body.dump();
    expect(created.status).toBeLessThan(300);
  }, 240_000);

  afterAll(async () => {
    await swift?.resumeProxy().catch(() => undefined);
    await http?.close();
    await swift?.remove();
  });

  /** Runs `request` with the proxy frozen; its failure and how long it took. */
  async function whileFrozen(request: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
    await swift.pauseProxy();
    const started = Date.now();
    try {
      await request();
      return { error: undefined, ms: Date.now() - started };
    } catch (error) {
      return { error, ms: Date.now() - started };
    } finally {
      await swift.resumeProxy();
    }
  }

  it('a HEAD (idempotent) fails once, not once per retry', async () => {
    const { error, ms } = await whileFrozen(() => http.send({ method: 'HEAD', url: url('anything'), headers: { 'x-auth-token': token }, idempotent: true }));
    expect((error as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('a streamed PUT whose bytes the proxy stopped taking fails', async () => {
    const body = new PassThrough();
    const { error, ms } = await whileFrozen(async () => {
      const sent = http.send({ method: 'PUT', url: url('streamed'), headers: { 'x-auth-token': token }, body, idempotent: false });
      // More than the socket buffers hold: the writer ends up waiting for the proxy to read.
      for (let i = 0; i < 64 && !body.destroyed; i++) {
        if (!body.write(randomBytes(MiB))) await Promise.race([new Promise((resolve) => body.once('drain', resolve)), sent.catch(() => undefined)]);
      }
      await sent;
    });
    expect((error as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('a GET whose body stops coming fails mid-body', async () => {
    const stored = await http.send({ method: 'PUT', url: url('large'), headers: { 'x-auth-token': token }, body: randomBytes(48 * MiB), idempotent: true });
    await stored.body.dump();
    expect(stored.status).toBe(201);
    const response = await http.send({ method: 'GET', url: url('large'), headers: { 'x-auth-token': token }, idempotent: true });
    expect(response.status).toBe(200);
    let received = 0;
    const { error, ms } = await whileFrozen(async () => {
      for await (const chunk of response.body) received += (chunk as Buffer).length;
    });
    expect((error as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
    expect(received).toBeLessThan(48 * MiB);
    expect(ms).toBeLessThan(BOUND_MS);
  });
});
