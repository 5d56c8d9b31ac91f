import type { KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';

export interface RegistryTokenClaims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
  iat?: unknown;
  jti?: unknown;
  access?: unknown;
  [claim: string]: unknown;
}

/**
 * A registry token signed as the reference's docs describe (docs/spec/auth/jwt.md): a JWS
 * whose header names the key (`x5c`, `kid` or `jwk`) and whose claims carry `access`. Claims
 * are written as given, so tests can make them wrong on purpose.
 */
export async function signRegistryToken(key: KeyObject, header: Record<string, unknown> & { alg: string }, claims: RegistryTokenClaims): Promise<string> {
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
}

/** Claims of a good token: issued now, valid for five minutes, integers as the reference wants. */
export function registryClaims(issuer: string, service: string, subject: string, access: { type: string; name: string; actions: string[] }[]): RegistryTokenClaims {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: `${now}-${Math.random()}`, access };
}
