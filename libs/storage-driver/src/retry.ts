import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one retry policy for every driver's backend calls (issue 17, item 5): which failures
 * are transient, how long to wait between attempts, and when not to retry at all.
 *
 * Each SDK has a retry loop of its own; drivers switch it off (or to one attempt) and go
 * through `withRetry`, so every backend gets the same patience and the same rules.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 never retries. */
  attempts: number;
  /** The wait before the second attempt; each later wait doubles, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/** About 3 s of patience in all: a proxy restart fits, a dead backend fails the call quickly. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, firstDelayMs: 100, maxDelayMs: 1_600 };

/**
 * HTTP statuses that say "try again": throttled (429, S3's 503 SlowDown), and a server or
 * gateway that failed or was not there (500, 502, 503, 504). Any other status is an answer.
 */
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

/** Network failures: the connection was refused, reset or timed out before an answer came. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  // ali-oss (urllib) names its timeouts and resets so.
  'ConnectionTimeoutError',
  'ResponseTimeoutError',
  'SocketCloseError',
  // Error codes S3-compatible services put in the body of a 5xx or 400 that asks for a retry.
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
]);

/** Whether an HTTP status is worth another attempt. */
export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status);
}

/**
 * Whether a failure is worth another attempt: a network code (also on `cause`, where undici
 * and fetch put it), or an HTTP status found where the SDKs keep it (AWS `$metadata`,
 * ali-oss `status`, Azure `statusCode`, Google `code`).
 */
export function isTransientError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== null && typeof current === 'object' && depth < 4; depth++) {
    const e = current as {
      code?: unknown;
      name?: unknown;
      status?: unknown;
      statusCode?: unknown;
      $metadata?: { httpStatusCode?: unknown };
      cause?: unknown;
    };
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if (typeof e.name === 'string' && (TRANSIENT_CODES.has(e.name) || e.name === 'TimeoutError')) return true;
    const status = [e.$metadata?.httpStatusCode, e.status, e.statusCode, e.code].find((s) => typeof s === 'number');
    if (typeof status === 'number' && isTransientStatus(status)) return true;
    // ali-oss's mark for no answer at all: -1 a network failure (a reset keep-alive socket, its
    // code lost, named `ResponseError`), -2 a timeout.
    if (e.status === -1 || e.status === -2) return true;
    current = e.cause;
  }
  return false;
}

/**
 * Whether a request body can be sent a second time. A stream is consumed by the first
 * attempt (the client's bytes are gone), so a request with one is never retried.
 */
export function isReplayableBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) return true;
  return !(body instanceof Readable) && typeof (body as { pipe?: unknown }).pipe !== 'function' && !isAsyncIterable(body);
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The wait before attempt `attempt + 1`: exponential from `firstDelayMs`, capped, with
 * "equal jitter" (between half and all of it) so that writers hit by one outage do not all
 * come back in step.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1));
  return base / 2 + random() * (base / 2);
}

export interface RetryOptions {
  policy?: RetryPolicy;
  /**
   * False when the call sends a body that cannot be replayed (a stream): it then runs once.
   * Calls without a body, or with a buffered one, pass true.
   */
  replayable: boolean;
  /** Overrides the classification, for a backend with failures of its own. */
  isTransient?: (error: unknown) => boolean;
  /** Stops waiting: an aborted signal ends the retries with the last failure. */
  signal?: AbortSignal;
}

/**
 * Runs `call` until it succeeds, fails for good, or the policy's attempts are spent; only
 * transient failures (`isTransientError`) of replayable calls are tried again.
 */
export async function withRetry<T>(call: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const transient = options.isTransient ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      const last = !options.replayable || attempt >= policy.attempts || options.signal?.aborted === true;
      if (last || !transient(error)) throw error;
      await sleep(retryDelay(policy, attempt));
    }
  }
}
