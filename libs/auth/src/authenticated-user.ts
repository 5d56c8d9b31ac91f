import type { IncomingMessage } from 'node:http';

const users = new WeakMap<IncomingMessage, string>();

/**
 * The user the gateway authenticated for `request` (htpasswd's user, a token's `sub`, `silly`),
 * or `undefined` for an open registry or an anonymous grant: what an access log records. Set
 * once the request is authorized, before its handler runs; keyed on Node's own request object.
 */
export function authenticatedUser(request: IncomingMessage): string | undefined {
  return users.get(request);
}

export function setAuthenticatedUser(request: IncomingMessage, user: string): void {
  users.set(request, user);
}
