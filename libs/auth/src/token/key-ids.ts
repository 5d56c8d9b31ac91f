import { createHash, type KeyObject } from 'node:crypto';

/**
 * The two names a token's `kid` may give a trusted key.
 *
 * - The libtrust key ID, what the reference 2.8 looks keys up by (docker/libtrust util.go
 *   keyIDFromCryptoKey): SHA-256 of the key's SubjectPublicKeyInfo DER, its first 240 bits in
 *   base32 without padding, in 12 groups of 4 joined by `:` (`PYYO:TEWU:…`).
 * - The RFC 7638 JWK thumbprint, what 3.x looks rootcertbundle keys up by.
 */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  const encoded = base32(digest);
  return encoded.match(/.{4}/g)!.join(':');
}

/** RFC 7638: SHA-256 of the key's required members in lexicographic order, base64url without padding. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  let members: Record<string, unknown>;
  switch (jwk.kty) {
    case 'RSA':
      members = { e: jwk.e, kty: jwk.kty, n: jwk.n };
      break;
    case 'EC':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
      break;
    case 'OKP':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
      break;
    case undefined:
    default:
      throw new Error(`no thumbprint for a ${String(jwk.kty)} key`);
  }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, no padding (30 bytes make exactly 48 characters). */
function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
