import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header that carries the signature of a request between berth's own services. */
export const SIGNATURE_HEADER = 'x-berth-signature';

/** What a signature binds: everything of the request but the body bytes, which stream. */
export interface SignedParts {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The `host:port` the sender dialled, as announced by the receiving instance: a request signed for one instance is refused by another. */
  target: string;
  /** Every header whose value the receiver acts on (the message, the body flag, the length). */
  headers: Record<string, string>;
}

export interface InternalRequestSignerOptions {
  /** How far a signature's time may be from the receiver's clock, either way. */
  validityMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

const VERSION = 'v1';
const DEFAULT_VALIDITY_MS = 30_000;
/** Nonces remembered at most; more valid requests than this within the validity window are refused, not forgotten. */
const MAX_REMEMBERED_NONCES = 200_000;

/**
 * Signs and checks requests to internal listeners (the upload instances' blob-byte listener)
 * with a key only berth's own services hold, derived from `http.secret` (DESIGN.md rule 9: only
 * the gateway is a door). HMAC-SHA256 over method, path, target instance, the headers acted on, a
 * time and a random nonce: a request cannot be made without the secret, altered, sent to another
 * instance, or replayed (the time bounds how long a nonce must be remembered). The body is not
 * covered: it streams, and the blob's digest is verified before it becomes visible.
 */
export class InternalRequestSigner {
  private readonly key: Buffer;
  private readonly validityMs: number;
  private readonly now: () => number;
  /** nonce → time it may be forgotten. */
  private readonly seen = new Map<string, number>();

  constructor(secret: string, options: InternalRequestSignerOptions = {}) {
    if (secret === '') throw new Error('internal requests need a secret (http.secret)');
    // A key of its own: the upload state's HMAC uses http.secret as it is.
    this.key = createHmac('sha256', secret).update('berth internal requests v1').digest();
    this.validityMs = options.validityMs ?? DEFAULT_VALIDITY_MS;
    this.now = options.now ?? Date.now;
  }

  /** The value of {@link SIGNATURE_HEADER} for a request with these parts. */
  sign(parts: SignedParts): string {
    const time = Math.floor(this.now());
    const nonce = randomBytes(16).toString('base64url');
    return `${VERSION} ${time} ${nonce} ${this.mac(parts, time, nonce).toString('base64url')}`;
  }

  /** Why the request is refused, or undefined when it is signed, fresh and new. Remembers its nonce. */
  check(header: string | undefined, parts: SignedParts): string | undefined {
    if (header === undefined || header === '') return 'not signed';
    const [version, timeText, nonce, mac, ...rest] = header.split(' ');
    if (version !== VERSION || !timeText || !nonce || !mac || rest.length > 0 || !/^\d{1,15}$/.test(timeText)) return 'malformed signature';
    const time = Number(timeText);
    const now = this.now();
    if (Math.abs(now - time) > this.validityMs) return 'signature expired (or the clocks differ by more than the validity)';
    const expected = this.mac(parts, time, nonce);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad signature';
    this.forgetOld(now);
    if (this.seen.has(nonce)) return 'replayed';
    if (this.seen.size >= MAX_REMEMBERED_NONCES) return 'too many requests in the validity window';
    this.seen.set(nonce, time + this.validityMs);
    return undefined;
  }

  private mac(parts: SignedParts, time: number, nonce: string): Buffer {
    const headers = Object.entries(parts.headers)
      .map(([name, value]) => `${name.toLowerCase()}:${value}`)
      .sort();
    // One field per line; no field may hold a newline (headers and paths cannot).
    const text = [VERSION, String(time), nonce, parts.method.toUpperCase(), parts.path, parts.target.toLowerCase(), ...headers].join('\n');
    return createHmac('sha256', this.key).update(text).digest();
  }

  private forgetOld(now: number): void {
    // Past its time plus the validity a replay is refused as expired. Entries go in (roughly)
    // time order: stop at the first still needed.
    for (const [nonce, until] of this.seen) {
      if (until >= now) break;
      this.seen.delete(nonce);
    }
  }
}
