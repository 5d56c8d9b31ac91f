import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { DEFAULT_RETRY_POLICY, isReplayableBody, isTransientError, isTransientStatus, retryDelay, type RetryPolicy } from '../../retry';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'COPY';

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** A `Readable` is sent as it comes (chunked) and can never be replayed, so it is never retried. */
  body?: Buffer | string | Readable;
  /** Safe to send twice: GET, HEAD, DELETE, and PUT or POST of a buffered body. */
  idempotent: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Readable & { dump(): Promise<void>; arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> };
}

/**
 * How long Swift may stay silent before a request fails (503 to berth's client): no answer
 * to a request sent, no read of a body being sent (undici's headers timeout counts only while
 * the proxy does not take our bytes, never while we wait for our own client's), no byte of
 * a response being read (undici pauses this one while our reader applies backpressure). A
 * proxy gives up on its storage nodes after its node_timeout (10 s by default) and answers
 * 503 itself; one that says nothing for longer is hung or frozen.
 */
export const SILENCE_TIMEOUT_MS = 30_000;

/**
 * The driver's one HTTP client: a keep-alive undici pool per origin, so every Swift call
 * after the first reuses a connection, and the shared retry policy (`retry.ts`) for idempotent calls.
 */
export class SwiftHttp {
  private readonly agent: Agent;

  constructor(
    options: { insecureSkipVerify: boolean; silenceTimeoutMs?: number },
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    const silence = options.silenceTimeoutMs ?? SILENCE_TIMEOUT_MS;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 128,
      bodyTimeout: silence,
      headersTimeout: silence,
      connect: { rejectUnauthorized: !options.insecureSkipVerify, timeout: silence },
    });
  }

  /** Sends the request; 5xx answers and connection failures are retried when it is idempotent. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const retryable = req.idempotent && isReplayableBody(req.body);
    for (let attempt = 1; ; attempt++) {
      const last = !retryable || attempt >= this.retry.attempts;
      let response: HttpResponse;
      try {
        response = await this.once(req);
      } catch (error) {
        if (last || !isTransientError(error) || isSilence(error)) throw error;
        await sleep(this.delay(attempt));
        continue;
      }
      if (last || !isTransientStatus(response.status)) return response;
      await response.body.dump();
      await sleep(this.delay(attempt));
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const response = await request(req.url, {
      dispatcher: this.agent,
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: response.statusCode, headers, body: response.body };
  }

  private delay(attempt: number): number {
    return retryDelay(this.retry, attempt);
  }
}

// A proxy that stayed silent for a whole SILENCE_TIMEOUT_MS (UND_ERR_HEADERS_TIMEOUT,
// UND_ERR_BODY_TIMEOUT) is not asked again: a retry would wait as long, and the request
// that waits on it is better answered 503 now than after several rounds of silence.
function isSilence(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
