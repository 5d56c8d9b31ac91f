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
