import { createServer, type Server } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig, ListenError, parseListenAddress } from '@berth/config';
import { HEALTH_BOARD, type HealthBoard, type HealthReport } from '@berth/contracts';
import { type HttpRequest, type HttpResponse, requestTarget, sendGoNotFound, sendJson } from './http-answers';

/**
 * The reference's debug server on `http.debug.addr`, for its `/debug/health`: 200 `{}` while
 * every check passes, else 503 with each failing check's last error by name
 * (`{"storagedriver_filesystem": "..."}`), the page the gateway's 503 points to. Nothing
 * else of the reference's debug server (expvar, pprof, Prometheus) is served.
 */
@Injectable()
export class DebugListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('debug');
  private server: Server | undefined;

  constructor(
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    @Inject(HEALTH_BOARD) private readonly board: HealthBoard,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const addr = this.config.http.debug.addr;
    if (addr === undefined) return;
    const { host, port } = parseListenAddress(addr, 'http.debug.addr');
    const server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError('http.debug.addr', addr, error)));
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.logger.log(`debug server listening on ${addr}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  private async answer(req: HttpRequest, res: HttpResponse): Promise<void> {
    if (req.method !== 'GET' || requestTarget(req).path !== '/debug/health') return sendGoNotFound(res);
    let failing: Record<string, string>;
    try {
      failing = failingChecks(await this.board.current());
    } catch (error) {
      failing = { health: `the health report cannot be read: ${(error as Error).message}` };
    }
    res.statusCode = Object.keys(failing).length === 0 ? 200 : 503;
    sendJson(res, failing);
  }
}

/** Each unhealthy check's name and last error; no report yet counts as healthy, as at the gate. */
function failingChecks(report: HealthReport | undefined): Record<string, string> {
  const failing: Record<string, string> = {};
  for (const [name, check] of Object.entries(report?.checks ?? {})) {
    if (!check.healthy) failing[name] = check.lastError ?? 'unhealthy';
  }
  return failing;
}
