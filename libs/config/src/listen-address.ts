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
