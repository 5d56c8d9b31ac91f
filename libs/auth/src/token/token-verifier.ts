import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import { jwkThumbprint, libtrustKeyId } from './key-ids';
import type { TrustedKeys } from './trusted-keys';

/** What a verified token grants: its subject and its `access` claim. */
export interface TokenClaims {
  readonly subject: string | undefined;
  readonly access: readonly TokenAccess[];
}

export interface TokenAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** A token that must not be believed; `reason` is for the log, never for the client (it may quote the token). */
export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

/** The algorithms `auth.token` takes unless `signingalgorithms` says otherwise: asymmetric ones only. */
export const DEFAULT_SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Every algorithm `signingalgorithms` may name: no symmetric one, since no shared secret is configured. */
export const KNOWN_SIGNING_ALGORITHMS = [...DEFAULT_SIGNING_ALGORITHMS, 'PS256', 'PS384', 'PS512'] as const;

/** The reference's leeway on `exp` and `nbf` (distribution PR #1686). */
const LEEWAY_SECONDS = 60;

/** The most certificates an `x5c` chain may hold: more is an attempt to make verification slow. */
const MAX_CHAIN = 8;

export interface TokenVerifierOptions {
  readonly issuer: string;
  /** `auth.token.service`: a token's `aud` must name it. */
  readonly service: string;
  readonly algorithms: readonly string[];
  readonly keys: TrustedKeys;
}

/**
 * Verifies a registry token as the reference does (registry/auth/token/token.go), with the
 * key found by its header, first of: `x5c` (a chain to a rootcertbundle certificate; what 2.8
 * and 3.x both take), `jwk` (a key that is itself trusted), `kid` (libtrust ID as 2.8, RFC 7638
 * thumbprint or JWKS `kid` as 3.x). Claims: `iss` exact, `aud` the service (a string, or an
 * array holding it as 3.x accepts), integer `exp` required and `nbf` optional with 60 s leeway.
 * The signature is checked by jose, never by hand.
 */
export class TokenVerifier {
  constructor(private readonly options: TokenVerifierOptions) {}

  async verify(token: string, now = new Date()): Promise<TokenClaims> {
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('the token is not a JWS in compact form');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.options.algorithms.includes(alg)) {
      throw new InvalidTokenError(`the token's algorithm ${JSON.stringify(alg)} is not accepted (auth.token.signingalgorithms)`);
    }
    const key = this.signingKey(header, now);
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, key, { algorithms: [alg] }));
    } catch (error) {
      throw new InvalidTokenError(`the signature does not verify (${(error as Error).message})`);
    }
    return this.checkClaims(payload, now);
  }

  private signingKey(header: ProtectedHeaderParameters, now: Date): KeyObject {
    const { keys } = this.options;
    if (header.x5c !== undefined) {
      const key = keys.verifyChain(certificates(header.x5c), now);
      if (key === undefined) throw new InvalidTokenError('the x5c chain does not lead to a rootcertbundle certificate');
      return key;
    }
    if (header.jwk !== undefined) {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: header.jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      } catch {
        throw new InvalidTokenError('the jwk header is not a public key');
      }
      // Trusted only as the key itself, whatever `kid` it claims (CVE-2025-24976).
      for (const id of [libtrustKeyId(key), jwkThumbprint(key)]) {
        const trusted = keys.byKid.get(id);
        if (trusted !== undefined && trusted.equals(key)) return trusted;
      }
      const kid = header.jwk.kid;
      const named = typeof kid === 'string' ? keys.byKid.get(kid) : undefined;
      if (named !== undefined && named.equals(key)) return named;
      throw new InvalidTokenError('the jwk header names no trusted key');
    }
    if (typeof header.kid === 'string') {
      const key = keys.byKid.get(header.kid);
      if (key === undefined) throw new InvalidTokenError(`token signed by untrusted key with ID: ${JSON.stringify(header.kid)}`);
      return key;
    }
    throw new InvalidTokenError('the token names no key (x5c, jwk or kid)');
  }

  private checkClaims(payload: Uint8Array, now: Date): TokenClaims {
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new InvalidTokenError('the claims are not JSON');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new InvalidTokenError('the claims are not a JSON object');
    if (claims.iss !== this.options.issuer) throw new InvalidTokenError('the token is from another issuer');
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(this.options.service)) throw new InvalidTokenError('the token is for another service');
    const seconds = Math.floor(now.getTime() / 1000);
    // Integers, as the reference's int64 fields: a float is refused there, so here too.
    const exp = claims.exp;
    if (!Number.isSafeInteger(exp)) throw new InvalidTokenError('exp is missing or not an integer');
    if (seconds > (exp as number) + LEEWAY_SECONDS) throw new InvalidTokenError('the token has expired');
    for (const field of ['nbf', 'iat'] as const) {
      if (claims[field] !== undefined && !Number.isSafeInteger(claims[field])) throw new InvalidTokenError(`${field} is not an integer`);
    }
    if (claims.nbf !== undefined && seconds < (claims.nbf as number) - LEEWAY_SECONDS) throw new InvalidTokenError('the token is not valid yet');
    const subject = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
    return { subject, access: accessClaim(claims.access) };
  }
}

function certificates(x5c: unknown): X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN) throw new InvalidTokenError(`x5c must hold 1 to ${MAX_CHAIN} certificates`);
  return x5c.map((entry) => {
    if (typeof entry !== 'string') throw new InvalidTokenError('x5c holds something else than base64 certificates');
    try {
      return new X509Certificate(Buffer.from(entry, 'base64'));
    } catch {
      throw new InvalidTokenError('x5c holds a certificate that cannot be read');
    }
  });
}

/** `access`: `[{type, name, actions}]`; missing is no access (only /v2/), anything malformed refuses the token. */
function accessClaim(value: unknown): TokenAccess[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidTokenError('access is not a list');
  return value.map((entry: unknown) => {
    const { type, name, actions } = (entry ?? {}) as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions) || !actions.every((action) => typeof action === 'string')) {
      throw new InvalidTokenError('access holds an entry without type, name and actions');
    }
    return { type, name, actions: actions };
  });
}

/** Whether `claims` grant `action` on `type:name`: exact names only, `*` as an action grants every action. */
export function grants(claims: TokenClaims, type: string, name: string, action: string): boolean {
  return claims.access.some((entry) => entry.type === type && entry.name === name && (entry.actions.includes(action) || entry.actions.includes('*')));
}
