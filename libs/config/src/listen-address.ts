/**
 * Splits Go-style addresses (`:5000`, `127.0.0.1:5000`, `[::1]:5000`) for Node's `listen` and
 * `connect`: no host is every interface to the one, localhost to the other, as in Go.
 */
export function parseListenAddress(addr: string, key = 'http.addr'): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`${key}: "${addr}" is not host:port`);
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}
