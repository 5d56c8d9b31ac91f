import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

/** One request that went through the relay, and the real server's answer. */
export interface RelayedExchange {
  method: string;
  path: string;
  /** The `X-Auth-Token` the client sent, if any. */
  token: string | undefined;
  status: number;
}

export interface HttpRelay {
  /** `http://127.0.0.1:PORT`: point a client here instead of at the real server. */
  readonly url: string;
  readonly exchanges: readonly RelayedExchange[];
  close(): Promise<void>;
}

/**
 * A test's fault in the relay: `true` when it answered `req` itself (it may still `forward` it
 * to `upstream`, with a callback of its own); such a request is not in `exchanges`.
 */
export type RelayIntercept = (req: IncomingMessage, res: ServerResponse, upstream: string) => boolean;

/**
 * A transparent HTTP relay in front of a real server, so a test can count what a client really
 * asked and was answered (token requests, 401s) instead of inferring it from elapsed time.
 * The `Host` header goes through unchanged: Swift's tempauth builds the storage URL it hands out
 * from it, so a client that authenticated through the relay keeps talking through it.
 */
export async function startHttpRelay(target: string, intercept?: RelayIntercept): Promise<HttpRelay> {
  const origin = new URL(target).origin;
  const exchanges: RelayedExchange[] = [];
  const server: Server = createServer((req, res) => {
    const upstream = `${origin}${req.url ?? '/'}`;
    if (intercept?.(req, res, upstream)) return;
    forward(req, res, upstream, (status) => {
      const token = req.headers['x-auth-token'];
      exchanges.push({ method: req.method ?? '', path: req.url ?? '', token: typeof token === 'string' ? token : undefined, status });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends `req` on to `target` (an absolute URL), streams the answer back, and reports its status. */
export function forward(req: IncomingMessage, res: ServerResponse, target: string, answered: (status: number) => void = () => {}): void {
  const { hostname, port, pathname, search } = new URL(target);
  const upstream = request({ hostname, port, method: req.method, path: `${pathname}${search}`, headers: req.headers }, (answer) => {
    answered(answer.statusCode ?? 0);
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    pipeline(answer, res).catch(() => res.destroy());
  });
  upstream.once('error', () => res.destroy());
  pipeline(req, upstream).catch(() => upstream.destroy());
}
