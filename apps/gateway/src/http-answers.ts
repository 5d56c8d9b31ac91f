import type { IncomingMessage, ServerResponse } from 'node:http';
import { OciError } from '@berth/oci';
import { currentRequest } from '@berth/telemetry';

/**
 * The gateway answers on Node's own request and response: the web framework only routes, and
 * blob bytes stream straight between the socket and the driver.
 */
export type HttpRequest = IncomingMessage;
export type HttpResponse = ServerResponse;

const JSON_TYPE = 'application/json; charset=utf-8';

/** Every answer says which API it speaks, as the reference's do. */
export function setApiVersion(res: HttpResponse): void {
  res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
}

/** The request's path and query: its target split at `?`, the path matched as sent (nothing normalized). */
export function requestTarget(req: HttpRequest): { path: string; query: URLSearchParams } {
  const target = req.url ?? '/';
  const mark = target.indexOf('?');
  if (mark < 0) return { path: target, query: new URLSearchParams() };
  return { path: target.slice(0, mark), query: new URLSearchParams(target.slice(mark + 1)) };
}

/** `value` as JSON (no body for HEAD: Node leaves it out, the length stays). */
export function sendJson(res: HttpResponse, value: unknown, contentType = JSON_TYPE): void {
  const body = JSON.stringify(value);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Go's `http.NotFound`, which the reference's routers answer outside their routes. */
export function sendGoNotFound(res: HttpResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('404 page not found\n');
}

/** A bodiless answer: `status` and `Content-Length: 0`. */
export function sendEmpty(res: HttpResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

/** The one place an error becomes an HTTP answer: its status, its headers, `{"errors":[...]}`. */
export function sendOciError(req: HttpRequest, res: HttpResponse, error: OciError): void {
  if (res.headersSent) {
    // The body had begun: all that can be said now is to cut the connection.
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  // A refused body (too large, bad range) is read and dropped, not left unread: a client still
  // sending would otherwise see EPIPE instead of the error.
  if (!req.readableEnded) req.resume();
  // A body destroyed unread (its storage write failed) cannot be drained: the connection would
  // hang the client's next request on it, so it closes after this answer.
  if (req.destroyed && !req.complete) res.setHeader('Connection', 'close');
  res.statusCode = error.status;
  sendJson(res, { errors: [withRequestId(error.toJSON(), error.status)] });
}

/** The reference's words for its health gate's 503, kept exact: clients and scripts match them. */
export const HEALTH_GATE_DETAIL = 'health check failed: please see /debug/health';

/**
 * A server-side failure's detail names the request, so the client's report leads the operator
 * to its lines in every service's log (the detail is free-form in the spec).
 */
function withRequestId(body: ReturnType<OciError['toJSON']>, status: number): ReturnType<OciError['toJSON']> {
  const request = currentRequest();
  if (status < 500 || request === undefined || typeof body.detail !== 'string' || body.detail === HEALTH_GATE_DETAIL) return body;
  return { ...body, detail: `${body.detail} (request id ${request.id})` };
}

/**
 * A request target that is not valid percent-encoding, refused by the router before any
 * route: no repository name can be read from it, so it is answered as a bad name is.
 */
export function sendUndecodablePath(req: HttpRequest, res: HttpResponse): void {
  setApiVersion(res);
  sendOciError(req, res, new OciError('NAME_INVALID', `the path ${JSON.stringify(req.url ?? '')} is not valid percent-encoding`));
}
