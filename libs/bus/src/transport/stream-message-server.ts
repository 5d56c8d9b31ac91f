import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { ListenError, parseListenAddress } from '@berth/config';
import { asOciError, OciError } from '@berth/oci';
import { inCarried } from '@berth/telemetry';
import { isObservable, lastValueFrom } from 'rxjs';
import { type InternalRequestSigner, SIGNATURE_HEADER } from './internal-request-signer';
import { decodeMessage, HAS_BODY_HEADER, HEARTBEAT_MS, MESSAGE_HEADER, MESSAGE_PATH, signedStreamHeaders } from './stream-message-client';

export interface StreamMessageServerOptions {
  /**
   * `host:port` to listen on; port 0 takes a free one. A wildcard host (`:5001`, `0.0.0.0`,
   * `::`) is announced as this machine's hostname, which is what other containers resolve.
   */
  addr: string;
  /** The patterns served here: those whose requests carry a `body` stream. */
  patterns: readonly string[];
  /** Checks each request's signature: only berth's own services (holding `http.secret`) are served. */
  signer: InternalRequestSigner;
  /** Told the address actually bound (with the port the kernel chose), e.g. to announce it. */
  onListening?: (address: string) => Promise<void>;
}

/**
 * The receiving side of {@link postStreamMessage}: a Nest transport that serves the given
 * `@MessagePattern` handlers over an internal HTTP listener, handing each one the request
 * with the HTTP body as its `body` stream, so bytes go from socket to storage untouched.
 */
export class StreamMessageServer extends Server implements CustomTransportStrategy {
  private http: HttpServer | undefined;
  private readonly log = new Logger('stream-messages');
  private boundAddress: string | undefined;

  constructor(private readonly options: StreamMessageServerOptions) {
    super();
  }

  /** `host:port` this server listens on, once it does. */
  get address(): string | undefined {
    return this.boundAddress;
  }

  listen(callback: (error?: unknown) => void): void {
    // No host (`:5001`) listens on every interface, as a wildcard host does.
    const { host, port } = parseListenAddress(this.options.addr, 'berth.upload.addr');
    const http = createServer((req, res) => void this.serve(req, res));
    // A PATCH of a large layer over a slow link may take long; the gateway bounds what it forwards.
    http.requestTimeout = 0;
    http.keepAliveTimeout = 65_000;
    this.http = http;
    http.once('error', (error) => callback(new ListenError('berth.upload.addr', this.options.addr, error)));
    http.listen(port, host, () => {
      const bound = http.address() as AddressInfo;
      this.boundAddress = `${reachableHost(bound)}:${bound.port}`;
      (this.options.onListening?.(this.boundAddress) ?? Promise.resolve()).then(() => callback(), callback);
    });
  }

  async close(): Promise<void> {
    const http = this.http;
    if (!http) return;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeIdleConnections();
    });
  }

  on(): void {}

  unwrap<T>(): T {
    return this.http as T;
  }

  private refusal(req: IncomingMessage): string | undefined {
    const header = req.headers[SIGNATURE_HEADER];
    if (this.boundAddress === undefined) return 'not listening yet';
    return this.options.signer.check(typeof header === 'string' ? header : undefined, {
      method: req.method ?? '',
      path: req.url ?? '',
      target: this.boundAddress,
      headers: signedStreamHeaders(req.headers),
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before anything of the request is read or acted on: whoever reaches this port around the
    // gateway (and its auth) writes nothing.
    const refusal = this.refusal(req);
    if (refusal !== undefined) {
      this.log.warn(`refused an internal request from ${req.socket.remoteAddress ?? '?'}: ${refusal}`);
      // Its body is drained, not read: `reply` closes the connection after the refusal.
      req.resume();
      return reply(req, res, { err: new OciError('UNAUTHORIZED', `internal listener: only berth's own services are served (${refusal})`).toWire() });
    }
    const pattern = req.url?.startsWith(MESSAGE_PATH) ? decodeURIComponent(req.url.slice(MESSAGE_PATH.length)) : '';
    const header = req.headers[MESSAGE_HEADER];
    const request = typeof header === 'string' ? decodeMessage(header) : undefined;
    const handler = this.options.patterns.includes(pattern) ? this.getHandlerByPattern(pattern) : undefined;
    if (req.method !== 'POST' || !handler || request === undefined) {
      req.resume();
      return reply(req, res, { err: new OciError('UNSUPPORTED', `not a streamed message: ${req.method ?? ''} ${req.url ?? ''}`).toWire() });
    }
    const hasBody = req.headers[HAS_BODY_HEADER] === '1';
    if (!hasBody) req.resume();
    // Alive, however long the handler takes: the caller gives up on a silent instance only.
    const heartbeat = setInterval(() => {
      if (!res.headersSent && !res.destroyed) res.writeProcessing();
    }, HEARTBEAT_MS);
    // As part of the gateway's request: its id on every line, its trace continued.
    await inCarried(req.headers, pattern, async () => {
      try {
        const result: unknown = await handler({ ...request, ...(hasBody ? { body: req } : {}) }, new BaseRpcContext([pattern]));
        reply(req, res, { response: isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result });
        // As RedisQueueServer's: one line per message this instance ran, at debug level.
        this.log.debug(`handled ${pattern}`);
      } catch (error) {
        reply(req, res, { err: error instanceof Error ? asOciError(error, this.log).toWire() : OciError.fromWire(error).toWire() });
      } finally {
        clearInterval(heartbeat);
      }
    });
  }
}

function reply(req: IncomingMessage, res: ServerResponse, body: { response?: unknown } | { err: { status: number } }): void {
  if (res.destroyed) return;
  // A body not read to its end (the handler failed before or while taking it: storage down)
  // leaves the connection mid-request, where Node never parses another one; kept alive, the
  // caller's pool would send its next message there to wait in silence. Closed after this reply.
  if (!req.readableEnded) res.shouldKeepAlive = false;
  const text = JSON.stringify(body);
  res.writeHead('err' in body ? body.err.status : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The host a caller on another machine dials: a wildcard bind says nothing, the hostname does. */
function reachableHost(bound: AddressInfo): string {
  if (bound.address === '0.0.0.0' || bound.address === '::') return hostname();
  return bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
}
