import type { Readable } from 'node:stream';
import { StorageDriverError } from '../../errors';
import type { SwiftAuth, SwiftSession } from './swift.auth';
import type { HttpMethod, HttpResponse, SwiftHttp } from './swift.http';

/** One entry of a JSON container listing: an object, or with a delimiter a "subdir" prefix. */
export interface ListingEntry {
  name?: string;
  subdir?: string;
  bytes?: number;
  hash?: string;
  last_modified?: string;
  /** Present on Static Large Object manifests (Swift >= 2.19). */
  slo_etag?: string;
}

export interface ObjectRequest {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Defaults: true for GET, HEAD and DELETE and for buffered bodies. */
  idempotent?: boolean;
}

/** How long a token must stay valid after a streamed request starts: Swift checks it on arrival. */
const STREAM_TOKEN_MARGIN_MS = 1_000;

/**
 * A token Swift accepted in a request sent this recently needs no HEAD before a streamed
 * request: about as fresh a proof as that HEAD would be once requests queue under load.
 */
const TOKEN_PROOF_MS = 1_000;

/** Swift answered a status the caller did not expect. Never carries the token or storage URL. */
export class SwiftStatusError extends StorageDriverError {
  constructor(
    readonly status: number,
    what: string,
    detail = '',
  ) {
    super(`${what}: Swift answered ${status}${detail ? ` (${detail})` : ''}`, 'swift');
  }
}

/**
 * Requests against one container of the authenticated account. Adds the token, and when
 * Swift refuses a token (401) authenticates again and repeats the request once, unless the
 * body was a stream that is already spent (then the next request gets a new token).
 */
export class SwiftClient {
  /** The last token Swift accepted, and when the request that proved it was sent. */
  private proven: { token: string; sentAt: number } | undefined;

  constructor(
    private readonly http: SwiftHttp,
    private readonly auth: SwiftAuth,
    readonly container: string,
  ) {}

  session(): Promise<SwiftSession> {
    return this.auth.session();
  }

  /** A request on `object` in the container, or on the container itself when `object` is undefined. */
  object(method: HttpMethod, object: string | undefined, options: ObjectRequest = {}): Promise<HttpResponse> {
    return this.send(method, (storageUrl) => objectUrl(storageUrl, this.container, object, options.query), options);
  }

  /** A request on the account (bulk delete, account metadata). */
  account(method: HttpMethod, options: ObjectRequest = {}): Promise<HttpResponse> {
    return this.send(method, (storageUrl) => withQuery(storageUrl, options.query), options);
  }

  /** The cluster's capabilities (`/info`, beside `/v1` on the proxy); undefined when the operator hid it. */
  async info(): Promise<Record<string, unknown> | undefined> {
    const { storageUrl } = await this.auth.session();
    const url = new URL(storageUrl);
    const versionAt = url.pathname.search(/\/v1(\/|$)/);
    url.pathname = `${versionAt >= 0 ? url.pathname.slice(0, versionAt) : ''}/info`;
    url.search = '';
    try {
      const response = await this.httpGet(url.toString());
      const text = await response.body.text();
      return response.status === 200 ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every entry under `prefix`, page by page, in Swift's (byte-wise) order. */
  async *list(prefix: string, options: { delimiter?: string; pageSize?: number } = {}): AsyncGenerator<ListingEntry> {
    let marker = '';
    for (;;) {
      const query: Record<string, string> = { format: 'json', prefix, limit: String(options.pageSize ?? 10_000) };
      if (options.delimiter !== undefined) query.delimiter = options.delimiter;
      if (marker) query.marker = marker;
      const response = await this.object('GET', undefined, { query });
      const text = await response.body.text();
      if (response.status === 204) return;
      if (response.status !== 200) throw new SwiftStatusError(response.status, `listing ${this.container}/${prefix}`);
      const page = JSON.parse(text) as ListingEntry[];
      for (const entry of page) yield entry;
      const last = page[page.length - 1];
      if (page.length < Number(query.limit) || last === undefined) return;
      marker = last.name ?? last.subdir ?? '';
    }
  }

  private async send(method: HttpMethod, urlOf: (storageUrl: string) => string, options: ObjectRequest): Promise<HttpResponse> {
    const buffered = options.body === undefined || typeof options.body === 'string' || Buffer.isBuffer(options.body);
    const idempotent = options.idempotent ?? (buffered || method === 'GET' || method === 'HEAD' || method === 'DELETE');
    // A streamed body cannot be sent twice, so a refused token would lose it: the token must
    // outlive the request's start by a margin, and must have been proven just before (else
    // one HEAD of the container proves it, re-authenticating on a 401) for a token that dies
    // before its announced time.
    if (!buffered) {
      const session = await this.auth.lastingSession(STREAM_TOKEN_MARGIN_MS);
      const proven = this.proven;
      if (proven?.token !== session.token || this.now() - proven.sentAt > TOKEN_PROOF_MS) {
        await (await this.object('HEAD', undefined)).body.dump();
      }
    }
    for (let attempt = 1; ; attempt++) {
      const session = buffered ? await this.auth.session() : await this.auth.lastingSession(STREAM_TOKEN_MARGIN_MS);
      const sentAt = this.now();
      const response = await this.http.send({
        method,
        url: urlOf(session.storageUrl),
        headers: { ...options.headers, 'x-auth-token': session.token },
        body: options.body,
        idempotent,
      });
      // Swift checks the token on arrival: the proof dates from the sending, not the answer.
      // Only answers Swift gives past its auth count (a 5xx may come from a balancer in front).
      const accepted = response.status < 400 || response.status === 404;
      if (accepted && (this.proven === undefined || this.proven.sentAt <= sentAt)) {
        this.proven = { token: session.token, sentAt };
      }
      if (response.status !== 401 || attempt > 1) return response;
      this.auth.invalidate(session.token);
      if (!buffered) return response;
      await response.body.dump();
    }
  }

  private now(): number {
    return Date.now();
  }

  private httpGet(url: string): Promise<HttpResponse> {
    return this.http.send({ method: 'GET', url, idempotent: true });
  }
}

/** Object names travel percent-encoded per path segment; `/` stays a separator. */
export function objectUrl(storageUrl: string, container: string, object: string | undefined, query?: Record<string, string>): string {
  const base = storageUrl.replace(/\/+$/, '');
  const path = object === undefined ? encodePath(container) : `${encodePath(container)}/${encodePath(object)}`;
  return withQuery(`${base}/${path}`, query);
}

export function encodePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (query === undefined) return url;
  const search = Object.entries(query)
    .map(([key, value]) => (value === '' ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`))
    .join('&');
  return search ? `${url}?${search}` : url;
}

/** The modification time of a listing entry: listings give UTC without a zone ("2026-11-29T04:33:03.944440"). */
export function listingTime(entry: ListingEntry): Date {
  if (entry.last_modified === undefined) return new Date(0);
  const time = new Date(/Z|[+-]\d\d:?\d\d$/.test(entry.last_modified) ? entry.last_modified : `${entry.last_modified}Z`);
  return Number.isNaN(time.getTime()) ? new Date(0) : time;
}
