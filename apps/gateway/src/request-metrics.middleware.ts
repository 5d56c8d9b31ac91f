import { Inject, Injectable, type NestMiddleware, Optional } from '@nestjs/common';
import { METRICS, type Metrics, noMetrics } from '@berth/metrics';
import type { HttpRequest, HttpResponse } from './http-answers';
import { matchRoute, type Route } from './routes';

/** The reference's route names (registry/api/v2/routes.go), its `handler` label; referrers are berth's. */
const handlerNames: Record<Route['kind'], string> = {
  base: 'base',
  catalog: 'catalog',
  tags: 'tags',
  manifest: 'manifest',
  uploadStart: 'blob_upload',
  upload: 'blob_upload_chunk',
  blob: 'blob',
  referrers: 'referrers',
};

/**
 * Every request counted and timed once its response is done (or the client left), by route,
 * method and status (`registry_http_*`, as the reference with `http.debug.prometheus`), and
 * the bytes of blob and manifest bodies sent (their `Content-Length`, counted only for a
 * response sent whole) and of manifests received. Blob bytes received are counted where they
 * are stored, by the upload service.
 */
@Injectable()
export class RequestMetricsMiddleware implements NestMiddleware {
  constructor(@Optional() @Inject(METRICS) private readonly metrics: Metrics = noMetrics) {}

  use(req: HttpRequest, res: HttpResponse, next: () => void): void {
    const metrics = this.metrics;
    if (!metrics.enabled) return next();
    const startedAt = performance.now();
    // The mounted middleware sees a path relative to its mount; the request's own is `originalUrl`.
    const target = (req as HttpRequest & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const route = matchRoute(target.split('?', 1)[0]!);
    const handler = route ? handlerNames[route.kind] : 'none';
    const method = req.method ?? 'GET';
    const inFlight = metrics.child(`http\0${handler}`, () => metrics.httpInFlight.labels(handler));
    inFlight.inc();
    res.once('close', () => {
      inFlight.dec();
      const { statusCode } = res;
      metrics.child(`http\0${handler}\0${method}\0${statusCode}`, () => metrics.httpRequests.labels(handler, String(statusCode), method)).inc();
      metrics.child(`http\0${handler}\0${method}`, () => metrics.httpDuration.labels(handler, method)).observe((performance.now() - startedAt) / 1000);
      if (!res.writableFinished || (route?.kind !== 'blob' && route?.kind !== 'manifest')) return;
      if (method === 'GET' && (res.statusCode === 200 || res.statusCode === 206)) {
        metrics.pulledBytes.labels(route.kind).inc(Number(res.getHeader('content-length') ?? 0));
      } else if (method === 'PUT' && route.kind === 'manifest' && res.statusCode === 201) {
        metrics.pushedBytes.labels('manifest').inc(Number(req.headers['content-length'] ?? 0));
      }
    });
    next();
  }
}
