import { IncomingMessage, type RequestListener, type Server, ServerResponse } from 'node:http';
import type { BerthLogger } from './berth-logger';
import { inRequest, REQUEST_ID_HEADER, requestIdFrom, type RequestScope } from './request-scope';
import { SpanKind, startSpan, withActiveSpan } from './tracing';

export interface RequestTelemetryOptions {
  /** `!log.accesslog.disabled`: one `response completed` line per request. */
  accessLog: boolean;
  logger: Pick<BerthLogger, 'fixedLineWriter'>;
  /** The authenticated user's name once auth has run (the reference's `auth.user.name`). */
  userOf?: (req: IncomingMessage) => string | undefined;
}

/**
 * Wraps `server`'s request handling (the Fastify listener Nest attached) so that each request
 * runs in a {@link RequestScope} (its id from `X-Request-Id` when sane, else a new one, sent
 * back in `X-Request-Id`), inside a server span when tracing is on, and ends with one access
 * line in the reference's fields (its `response completed` line, with gorilla's combined
 * log's protocol and bytes, and the bytes read). The bytes are those {@link countedBodies}
 * counted: a server made without them has lines without.
 */
export function instrumentRequests(server: Server, options: RequestTelemetryOptions): void {
  const writeAccessLine = options.accessLog ? options.logger.fixedLineWriter('access', ACCESS_KEYS, ACCESS_CLIENT_TEXT) : undefined;
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const scope: RequestScope = { id: requestIdFrom(req.headers[REQUEST_ID_HEADER]) };
    res.setHeader('X-Request-Id', scope.id);
    const span = startSpan(`HTTP ${req.method ?? 'GET'}`, SpanKind.SERVER, { 'http.request.method': req.method ?? '', 'url.path': pathOf(req.url) }, req.headers);
    const started = process.hrtime.bigint();
    res.on('close', () => {
      span?.setAttribute('http.response.status_code', res.statusCode);
      span?.end();
      if (!writeAccessLine) return;
      writeAccessLine('response completed', accessValues(req, res, scope.id, options.userOf?.(req), Number(process.hrtime.bigint() - started)));
    });
    inRequest(scope, () => withActiveSpan(span, () => listeners.forEach((listener) => listener.call(server, req, res))));
  });
}

/** Body bytes in, as the parser hands them on. */
class CountedRequest extends IncomingMessage {
  bodyBytesRead = 0;
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) this.bodyBytesRead += byteLength(chunk, encoding);
    return super.push(chunk, encoding);
  }
}

/** Body bytes out, as the handler writes them. */
class CountedResponse extends ServerResponse {
  bodyBytesWritten = 0;
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    this.bodyBytesWritten += byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
    return (super.write as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
  }
  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    if (typeof chunk !== 'function') this.bodyBytesWritten += byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
    return (super.end as (...args: unknown[]) => this).call(this, chunk, encoding, callback);
  }
}

/**
 * The request and response classes of berth's HTTP servers (`http.createServer`'s options of
 * those names): each counts its body's bytes as they pass, for the access line. Counted by the
 * classes rather than by wrapping each request's `push`, `write` and `end`: methods set on the
 * instances gave every request and response a shape of their own, which cost 2 to 4 points of
 * a manifest request (test/bench/README.md, stop 21).
 */
export const countedBodies = {
  IncomingMessage: CountedRequest,
  ServerResponse: CountedResponse,
};

function byteLength(chunk: unknown, encoding?: BufferEncoding): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, encoding);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/**
 * The reference's fields: `http.request.*` of its request logger, `http.response.*` of its
 * `response completed` line, `auth.user.name` once authenticated; and gorilla's combined
 * log's protocol, plus the body bytes read. Each is marked with whether a client wrote it.
 */
const ACCESS_FIELDS: readonly (readonly [key: string, clientText: boolean])[] = [
  ['http.request.id', true],
  ['http.request.remoteaddr', true],
  ['http.request.method', true],
  ['http.request.uri', true],
  ['http.request.proto', false],
  ['http.request.host', true],
  ['http.request.useragent', true],
  ['http.request.contenttype', true],
  ['http.request.read', false],
  ['http.response.status', false],
  ['http.response.written', false],
  ['http.response.contenttype', true],
  ['http.response.duration', false],
  ['auth.user.name', true],
];
const ACCESS_KEYS = ACCESS_FIELDS.map(([key]) => key);
const ACCESS_CLIENT_TEXT = ACCESS_FIELDS.map(([, clientText]) => clientText);

/** The values of {@link ACCESS_FIELDS}, in their order. */
function accessValues(req: IncomingMessage, res: ServerResponse, id: string, user: string | undefined, nanoseconds: number): unknown[] {
  return [
    id,
    remoteAddr(req),
    req.method ?? '',
    req.url ?? '',
    `HTTP/${req.httpVersion}`,
    req.headers.host ?? '',
    req.headers['user-agent'] ?? '',
    req.headers['content-type'] ?? '',
    (req as Partial<CountedRequest>).bodyBytesRead,
    res.statusCode,
    (res as Partial<CountedResponse>).bodyBytesWritten,
    String(res.getHeader('content-type') ?? ''),
    goDuration(nanoseconds),
    user ?? '',
  ];
}

/** As the reference's `RemoteAddr`: the first `X-Forwarded-For` hop, `X-Real-Ip`, else the peer. */
function remoteAddr(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (first) return first;
  const real = req.headers['x-real-ip'];
  if (typeof real === 'string' && real !== '') return real;
  const { remoteAddress, remotePort } = req.socket;
  if (remoteAddress === undefined) return '';
  return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}

/** Go's `time.Duration.String()` (the reference's `http.response.duration`): 1.5s, 12.34ms, 850µs. */
export function goDuration(nanoseconds: number): string {
  if (nanoseconds < 1_000) return `${nanoseconds}ns`;
  if (nanoseconds < 1_000_000) return `${decimal(nanoseconds, 1_000, 3)}µs`;
  if (nanoseconds < 1_000_000_000) return `${decimal(nanoseconds, 1_000_000, 6)}ms`;
  return `${decimal(nanoseconds, 1_000_000_000, 9)}s`;
}

/** `whole / unit` with its fraction's `digits`, trailing zeros dropped, in integer arithmetic (toFixed was most of a line's cost). */
function decimal(whole: number, unit: number, digits: number): string {
  const integer = Math.floor(whole / unit);
  let fraction = whole - integer * unit;
  if (fraction === 0) return String(integer);
  let places = digits;
  while (fraction % 10 === 0) {
    fraction /= 10;
    places--;
  }
  return `${integer}.${String(fraction).padStart(places, '0')}`;
}

function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
