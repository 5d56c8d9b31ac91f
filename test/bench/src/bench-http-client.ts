import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly headers?: Record<string, string | number>;
  /** Streamed as given; each chunk is written with backpressure, never concatenated. */
  readonly body?: Iterable<Buffer>;
  /** The statuses that count as success; anything else throws with the server's answer. */
  readonly expect: readonly number[];
}

export class UnexpectedStatusError extends Error {}

/**
 * The bench's one HTTP client: Node's own `http` with a keep-alive agent, so the figures
 * measure the servers, not connection set-up or a client library.
 */
export class BenchHttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** `credentials`: an `Authorization` header sent with every request to `origin` (a target under auth), never elsewhere. */
  constructor(private readonly credentials?: { readonly origin: string; readonly authorization: string }) {}

  /** A request whose response body is small (JSON, errors, empty) and read whole. */
  async send(method: string, url: string | URL, options: RequestOptions): Promise<HttpResponse> {
    const response = await this.open(method, url, options);
    const parts: Buffer[] = [];
    for await (const part of response) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    this.check(method, url, response, options.expect, body);
    return { status: response.statusCode ?? 0, headers: response.headers, body };
  }

  /**
   * GET a large body and count it without keeping it; follows redirects (a registry may send
   * blob pulls to storage) and hands every chunk to `onChunk`. Returns the byte count.
   */
  async download(url: string | URL, onChunk: (chunk: Buffer) => void = () => {}, redirectsLeft = 5): Promise<number> {
    const response = await this.open('GET', url, { expect: [] });
    const status = response.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && response.headers.location !== undefined && redirectsLeft > 0) {
      response.resume();
      return this.download(new URL(response.headers.location, url), onChunk, redirectsLeft - 1);
    }
    if (status !== 200) {
      const parts: Buffer[] = [];
      for await (const part of response) parts.push(part as Buffer);
      this.check('GET', url, response, [200], Buffer.concat(parts));
    }
    let bytes = 0;
    for await (const chunk of response) {
      bytes += (chunk as Buffer).length;
      onChunk(chunk as Buffer);
    }
    return bytes;
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, url: string | URL, options: RequestOptions): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      const headers = this.credentials !== undefined && target.origin === this.credentials.origin
        ? { ...options.headers, Authorization: this.credentials.authorization }
        : options.headers;
      const req = request(target, { method, agent: this.agent, headers }, resolve);
      req.once('error', reject);
      if (options.body === undefined) {
        req.end();
        return;
      }
      const chunks = options.body[Symbol.iterator]();
      const writeMore = (): void => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (!req.write(next.value)) {
            req.once('drain', writeMore);
            return;
          }
        }
        req.end();
      };
      writeMore();
    });
  }

  private check(method: string, url: string | URL, response: IncomingMessage, expect: readonly number[], body: Buffer): void {
    const status = response.statusCode ?? 0;
    if (expect.length > 0 && !expect.includes(status)) {
      throw new UnexpectedStatusError(`${method} ${String(url)}: ${status}, expected ${expect.join(' or ')}: ${body.toString('utf8').slice(0, 500)}`);
    }
  }
}
