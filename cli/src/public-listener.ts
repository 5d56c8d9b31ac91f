import type { INestApplication } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import type { JsonLogger } from './json-logger';
import { parseListenAddress } from './listen-address';

/** The gateway's public listener on `http.addr`, as registry clients expect it. */
export async function listenPublicly(app: INestApplication, config: BerthConfig, logger: JsonLogger): Promise<void> {
  // Express's own ETag and banner have no place in registry answers.
  const express = app.getHttpAdapter().getInstance() as { set(key: string, value: unknown): void };
  express.set('etag', false);
  express.set('x-powered-by', false);
  const { host, port } = parseListenAddress(config.http.addr);
  await (host === undefined ? app.listen(port) : app.listen(port, host));
  // Node ends any request after 5 minutes by default; a large blob upload may take longer.
  (app.getHttpServer() as import('node:http').Server).requestTimeout = 0;
  logger.log(`listening on ${host ?? '*'}:${port}`, 'berth');
}
