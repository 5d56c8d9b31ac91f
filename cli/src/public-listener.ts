import type { INestApplication } from '@nestjs/common';
import { authenticatedUser } from '@berth/auth';
import { type BerthConfig, ListenError, parseListenAddress } from '@berth/config';
import { type BerthLogger, instrumentRequests } from '@berth/telemetry';

/** Longer than Go's `http.Transport.IdleConnTimeout` (90 s), so the client is the one to close. */
const IDLE_CONNECTION_MS = 120_000;

/** The gateway's public listener on `http.addr`, as registry clients expect it. */
export async function listenPublicly(app: INestApplication, config: BerthConfig, logger: BerthLogger): Promise<void> {
  const addr = config.http.addr;
  const { host, port } = parseListenAddress(addr);
  await app.init();
  // Before any request: each one then has its id, its span and its access line.
  instrumentRequests(app.getHttpServer() as import('node:http').Server, {
    accessLog: !config.log.accesslog.disabled,
    logger,
    userOf: authenticatedUser,
  });
  try {
    // No host is every interface, as in Go; Fastify's own default would be localhost alone.
    // `::` takes IPv4 too; a kernel without IPv6 gets `0.0.0.0`, as Node's own default does.
    await bind(app, port, host ?? '::').catch((error: NodeJS.ErrnoException) => {
      if (host !== undefined || error.code !== 'EAFNOSUPPORT') throw error;
      return bind(app, port, '0.0.0.0');
    });
  } catch (error) {
    throw new ListenError('http.addr', addr, error);
  }
  const server = app.getHttpServer() as import('node:http').Server;
  // Node ends any request after 5 minutes by default; a large blob upload may take longer.
  server.requestTimeout = 0;
  // Node closes a keep-alive connection after 5 idle seconds, and a client that sends its next
  // request (a PUT it will not retry) just as the close arrives sees ECONNRESET. The reference
  // (Go) keeps idle connections open; Go clients (docker, skopeo) drop theirs after 90 s.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  logger.log(`listening on ${host ?? '*'}:${port}`, 'berth');
}

/**
 * Through the adapter rather than `app.listen`, which logs a failure before it rethrows it:
 * a listener that cannot bind is said once, in the one line `berth` exits with.
 */
function bind(app: INestApplication, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    app.getHttpAdapter().listen(port, host, (error?: Error) => (error ? reject(error) : resolve()));
  });
}
