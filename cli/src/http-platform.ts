import type { TlsOptions } from 'node:tls';
import type { LoggerService, NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BerthConfig } from '@berth/config';
import { answerUnparsedRequest, sendUndecodablePath } from '@berth/gateway';
import { countedBodies } from '@berth/telemetry';

/**
 * berth's one HTTP platform. Fastify routes (its router costs a fraction of Express's per
 * request); no body is parsed: the handlers stream blob and manifest bodies themselves, so
 * every content type passes through unread. `tls`: the public listener's (servable's).
 */
export function httpAdapter(config: BerthConfig, tls?: TlsOptions): FastifyAdapter {
  const headers = config.http.headers ?? {};
  const adapter = new FastifyAdapter({
    // http.tls: HTTP/1.1 over TLS (HTTP/2 is not served; clients fall back to HTTP/1.1).
    // Bodies counted for the access line, whether it is written or not: a field added per chunk.
    ...(tls ? { https: { ...tls, ...countedBodies } } : { http: countedBodies }),
    // A request that arrives on a busy keep-alive connection while the server drains is served
    // (with Connection: close), as Go's Shutdown lets it finish, instead of Fastify's own 503,
    // whose body is not an OCI error: a rolling restart then fails no push.
    return503OnClosing: false,
    // The router's own refusals (only an undecodable path can occur here) as OCI errors.
    frameworkErrors: (_error: Error, request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      sendUndecodablePath(request.raw, reply.raw);
    },
    // What Node's parser refuses before the router (raw UTF-8 in the target, headers over
    // 16 KiB), as OCI errors too, instead of Fastify's own JSON.
    clientErrorHandler: (error, socket) => answerUnparsedRequest(error, socket, headers),
  });
  const fastify = adapter.getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null));
  return adapter;
}

/**
 * The options every HTTP app is made with. `bodyParser: false`: Nest would otherwise register
 * its JSON and form parsers on Fastify at start-up, over the catch-all above, and a blob chunk
 * sent as `application/json` or a form would be read by them and reach the upload empty.
 */
export function httpAppOptions(logger: LoggerService): NestApplicationOptions {
  return { logger, bodyParser: false };
}
