import type { INestApplication } from '@nestjs/common';
import { type BerthConfig, parseListenAddress } from '@berth/config';
import type { JsonLogger } from './json-logger';

/** Longer than Go's `http.Transport.IdleConnTimeout` (90 s), so the client is the one to close. */
const IDLE_CONNECTION_MS = 120_000;

/** The gateway's public listener on `http.addr`, as registry clients expect it. */
export async function listenPublicly(app: INestApplication, config: BerthConfig, logger: JsonLogger): Promise<void> {
  const { host, port } = parseListenAddress(config.http.addr);
  await (host === undefined ? app.listen(port) : app.listen(port, host));
  const server = app.getHttpServer() as import('node:http').Server;
  // Node ends any request after 5 minutes by default; a large blob upload may take longer.
  server.requestTimeout = 0;
  // Node closes a keep-alive connection after 5 idle seconds, and a client that sends its next
  // request (a PUT it will not retry) just as the close arrives sees ECONNRESET. The reference
  // (Go) keeps idle connections open; Go clients (docker, skopeo) drop theirs after 90 s.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  logger.log(`listening on ${host ?? '*'}:${port}`, 'berth');
}
