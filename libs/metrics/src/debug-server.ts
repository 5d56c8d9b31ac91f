import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ListenError, parseListenAddress } from '@berth/config';
import { type HealthBoard, type HealthReport, withTimeout } from '@berth/contracts';
import type { Metrics } from './metrics';

/** One thing `/readyz` asks: resolves when this process can count on it, throws saying why not. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface DebugServerOptions {
  /** The listen address, and the config key that names it (in a bind failure). */
  addr: string;
  key: string;
  metrics: Metrics;
  /** `http.debug.prometheus.path` when `enabled`, else undefined: no `/metrics`. */
  prometheusPath: string | undefined;
  /** The gateway's (and the all-in-one's) health board: `/debug/health` is served only with one. */
  board?: HealthBoard;
  readiness: ReadinessCheck[];
  /** How long one readiness check may take before it counts as failed. */
  readinessTimeoutMs?: number;
}

/**
 * One process's debug listener (the reference's debug server on `http.debug.addr`, and on
 * `berth.debug.addr` for the other services of the distributed mode):
 * - `/debug/health`: 200 `{}` while every check passes, else 503 with each failing check's last
 *   error by name (`{"storagedriver_filesystem": "..."}`), the page the gateway's 503 points to;
 * - the Prometheus exposition at `http.debug.prometheus.path` when enabled;
 * - `/livez`: 200 `ok` while the process runs (its event loop answers);
 * - `/readyz`: 200 while it can serve, else 503, with each readiness check's state as JSON
 *   (`{"status":"ready","checks":{"storage":"ok",...}}`), the shape Kubernetes probes read.
 * Nothing else (expvar, pprof) is served: 404 as Go's mux.
 */
export class DebugServer {
  private server: Server | undefined;

  constructor(private readonly options: DebugServerOptions) {}

  get address(): string | undefined {
    const bound = this.server?.address();
    return bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : undefined;
  }

  async start(): Promise<void> {
    const { addr, key } = this.options;
    const { host, port } = parseListenAddress(addr, key);
    const server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError(key, addr, error)));
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
    const { prometheusPath, board } = this.options;
    if (path === prometheusPath) {
      const { contentType, body } = await this.options.metrics.exposition();
      return send(res, 200, contentType, body);
    }
    if (path === '/livez') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/readyz') return this.readiness(res);
    if (path === '/debug/health' && board !== undefined) {
      let failing: Record<string, string>;
      try {
        failing = failingChecks(await board.current());
      } catch (error) {
        failing = { health: `the health report cannot be read: ${(error as Error).message}` };
      }
      return send(res, Object.keys(failing).length === 0 ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(failing));
    }
    return notFound(res);
  }

  private async readiness(res: ServerResponse): Promise<void> {
    const timeoutMs = this.options.readinessTimeoutMs ?? 2_000;
    const checks: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      this.options.readiness.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), timeoutMs, `no answer within ${timeoutMs} ms`);
          checks[name] = 'ok';
        } catch (error) {
          ready = false;
          checks[name] = (error as Error).message;
        }
      }),
    );
    const body = { status: ready ? 'ready' : 'not ready', checks };
    send(res, ready ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Go's `http.NotFound`, as the reference's debug mux answers outside its routes. */
function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('404 page not found\n');
}

/** Each unhealthy check's name and last error; no report yet counts as healthy, as at the gate. */
function failingChecks(report: HealthReport | undefined): Record<string, string> {
  const failing: Record<string, string> = {};
  for (const [name, check] of Object.entries(report?.checks ?? {})) {
    if (!check.healthy) failing[name] = check.lastError ?? 'unhealthy';
  }
  return failing;
}
