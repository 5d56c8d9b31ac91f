/**
 * `HOST:PORT`, `:PORT` or `[IPv6]:PORT`, as Go's net package splits an address. Only numeric
 * ports: Go would also look up a service name (`:http`).
 */
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.%\w]+)\]|([^:[\]\s]*)):(\d{1,5})$/;

/** The host (without brackets; undefined when empty) and port of `addr`, or undefined when it is not `host:port`. */
export function splitHostPort(addr: string): { host: string | undefined; port: number } | undefined {
  const match = HOST_PORT.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

/**
 * Splits Go-style addresses (`:5000`, `127.0.0.1:5000`, `[::1]:5000`) for Node's `listen` and
 * `connect`: no host is every interface to the one, localhost to the other, as in Go.
 * The config's schema has checked every key's address already; `key` names it otherwise.
 */
export function parseListenAddress(addr: string, key = 'http.addr'): { host: string | undefined; port: number } {
  const parts = splitHostPort(addr);
  if (parts === undefined) throw new Error(`${key}: "${addr}" is not host:port`);
  return parts;
}

/** What the kernel's refusals to bind mean to an operator. */
const bindRefusals: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  EADDRNOTAVAIL: 'no interface of this host has that address',
};

/**
 * A listener that could not bind: one line naming the key and the address, as the operator
 * wrote them (`http.addr: cannot listen on :5000: address already in use`).
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';

  constructor(key: string, addr: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
    super(`${key}: cannot listen on ${addr}: ${bindRefusals[code] ?? (cause instanceof Error ? cause.message : String(cause))}`, { cause });
  }
}
