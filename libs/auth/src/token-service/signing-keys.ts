import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { libtrustKeyId } from '../token/key-ids';

/** A key the token service signs with, and what a registry needs to find and trust it. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RS256 (RSA), ES256/384/512 (P-256/384/521), EdDSA (Ed25519; Distribution 3 only). */
  readonly alg: string;
  /** libtrust's key id (Distribution 2.8 looks a `kid` up that way). */
  readonly kid: string;
  /** The certificate's DER in standard base64: the header's `x5c`, which both 2.8 and 3.x try first. */
  readonly x5c: string;
}

export class SigningKeyError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

const curves: Record<string, string> = { prime256v1: 'ES256', 'P-256': 'ES256', secp384r1: 'ES384', 'P-384': 'ES384', secp521r1: 'ES512', 'P-521': 'ES512' };

/**
 * `berth.tokenservice.signingkeys`: each a private key and its certificate, read and checked now
 * (the certificate must hold the key's public half). The first signs; all are trusted for
 * refresh tokens, so listing a new key first and keeping the old rotates without logging anyone out.
 */
export function loadSigningKeys(files: readonly { key: string; certificate: string }[]): SigningKey[] {
  return files.map((file, index) => {
    const where = `berth.tokenservice.signingkeys.${index}`;
    const read = (path: string, key: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (error) {
        throw new SigningKeyError(`${where}.${key}`, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    };
    let privateKey: KeyObject;
    let certificate: X509Certificate;
    try {
      privateKey = createPrivateKey(read(file.key, 'key'));
    } catch (error) {
      if (error instanceof SigningKeyError) throw error;
      throw new SigningKeyError(`${where}.key`, `${file.key} is not a PEM private key`);
    }
    try {
      certificate = new X509Certificate(read(file.certificate, 'certificate'));
    } catch (error) {
      if (error instanceof SigningKeyError) throw error;
      throw new SigningKeyError(`${where}.certificate`, `${file.certificate} is not a PEM certificate`);
    }
    const publicKey = createPublicKey(privateKey);
    if (!certificate.publicKey.equals(publicKey)) {
      throw new SigningKeyError(`${where}.certificate`, `${file.certificate} is not the certificate of ${file.key} (the public keys differ)`);
    }
    const alg = algorithmOf(privateKey);
    if (alg === undefined) {
      throw new SigningKeyError(`${where}.key`, `${file.key}: a ${privateKey.asymmetricKeyType ?? 'unknown'} key cannot sign registry tokens (use RSA, EC P-256/384/521 or Ed25519)`);
    }
    return { privateKey, publicKey, alg, kid: libtrustKeyId(publicKey), x5c: certificate.raw.toString('base64') };
  });
}

function algorithmOf(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec':
      return curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    case 'ed25519':
      return 'EdDSA';
    default:
      return undefined;
  }
}
