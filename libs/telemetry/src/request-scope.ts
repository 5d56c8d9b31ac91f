import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The request a line of log is about, wherever it is written: the gateway opens one per HTTP
 * request, and every service that works for it (over the bus, the upload listener) opens one
 * with the same id.
 */
export interface RequestScope {
  readonly id: string;
}

/** The header a request id arrives and leaves in, between clients, proxies and berth's services. */
export const REQUEST_ID_HEADER = 'x-request-id';

const scopes = new AsyncLocalStorage<RequestScope>();

/** The request this code runs for, if any. */
export function currentRequest(): RequestScope | undefined {
  return scopes.getStore();
}

/** Runs `work` as part of `scope`: every line it logs, however deep, carries the request's id. */
export function inRequest<T>(scope: RequestScope, work: () => T): T {
  return scopes.run(scope, work);
}

// A proxy's id (a UUID, a hex trace id, `abc-123.4`) is kept; anything else is a forged log line in waiting.
const saneRequestId = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** The client's `X-Request-Id` when it is one line of plain characters, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && saneRequestId.test(value) ? value : randomUUID();
}
