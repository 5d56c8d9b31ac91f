import { readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { jwkThumbprint, libtrustKeyId } from './key-ids';

/** A problem with `auth.token`'s key files, in the words `config check` and `serve` share. */
export class TrustedKeysError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrustedKeysError';
  }
}

/**
 * Whom `auth.token` believes: the certificates of `rootcertbundle` (chains in a token's `x5c`
 * end at one of them) and the keys a token's `kid` may name: each bundle key under its
 * libtrust ID (2.8) and its RFC 7638 thumbprint (3.x), and each `jwks` key under its own `kid`
 * (3.x). Serving both the 2.8 and the 3.x names lets tokens of either kind of token service in.
 */
export class TrustedKeys {
  private constructor(
    readonly roots: readonly X509Certificate[],
    readonly byKid: ReadonlyMap<string, KeyObject>,
  ) {}

  static load(rootcertbundle: string | undefined, jwks: string | undefined): TrustedKeys {
    const roots = rootcertbundle === undefined ? [] : readBundle(rootcertbundle);
    const byKid = new Map<string, KeyObject>();
    for (const root of roots) {
      byKid.set(libtrustKeyId(root.publicKey), root.publicKey);
      byKid.set(jwkThumbprint(root.publicKey), root.publicKey);
    }
    if (jwks !== undefined) for (const [kid, key] of readJwks(jwks)) byKid.set(kid, key);
    return new TrustedKeys(roots, byKid);
  }

  /**
   * The leaf's key when `chain` (leaf first, as `x5c`) leads to a bundle certificate, each
   * link signed by the next and valid `at`. A leaf that is itself in the bundle is trusted,
   * as Go's x509.Verify has it.
   */
  verifyChain(chain: readonly X509Certificate[], at: Date): KeyObject | undefined {
    const leaf = chain[0];
    if (leaf === undefined) return undefined;
    let current = leaf;
    const intermediates = chain.slice(1);
    for (let depth = 0; depth <= chain.length; depth++) {
      if (!validAt(current, at)) return undefined;
      if (this.roots.some((root) => root.raw.equals(current.raw))) return leaf.publicKey;
      const issuer = this.roots.find((root) => signedBy(current, root)) ?? intermediates.find((cert) => cert.ca && signedBy(current, cert));
      if (issuer === undefined) return undefined;
      if (this.roots.includes(issuer)) return validAt(issuer, at) ? leaf.publicKey : undefined;
      current = issuer;
    }
    return undefined;
  }
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function validAt(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

function readBundle(path: string): X509Certificate[] {
  const text = readKeyFile('rootcertbundle', path);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TrustedKeysError('rootcertbundle', `${path} holds no PEM CERTIFICATE block`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TrustedKeysError('rootcertbundle', `${path}: certificate ${index + 1} cannot be read (${(error as Error).message})`);
    }
  });
}

function readJwks(path: string): [string, KeyObject][] {
  let document: unknown;
  try {
    document = JSON.parse(readKeyFile('jwks', path));
  } catch (error) {
    if (error instanceof TrustedKeysError) throw error;
    throw new TrustedKeysError('jwks', `${path} is not JSON (${(error as Error).message})`);
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new TrustedKeysError('jwks', `${path} holds no key: expected {"keys": [JWK, ...]}`);
  return keys.map((jwk: unknown, index) => {
    const kid = (jwk as { kid?: unknown } | null)?.kid;
    if (typeof kid !== 'string' || kid === '') throw new TrustedKeysError('jwks', `${path}: key ${index + 1} has no "kid" (tokens name their key by it)`);
    try {
      const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      return [kid, key];
    } catch (error) {
      throw new TrustedKeysError('jwks', `${path}: key "${kid}" is not a public key (${(error as Error).message})`);
    }
  });
}

function readKeyFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TrustedKeysError(key, `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
