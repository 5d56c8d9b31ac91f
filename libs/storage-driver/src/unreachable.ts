/**
 * The codes of a backend that could not be reached at all (nothing listens, no route, its
 * name not resolved yet): it may be there later. An answer that refuses (credentials, a
 * missing endpoint) is not among them: waiting would not mend it.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The code of the connection failure behind `error` (searched through its causes), if it is one. */
export function unreachableCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && UNREACHABLE_CODES.has(code)) return code;
  }
  return undefined;
}
