import { createHash } from 'node:crypto';
import { OciError } from './errors/oci-error';

/** The algorithms berth computes and verifies: the spec's registered ones. */
export type DigestAlgorithm = 'sha256' | 'sha512';

declare const digestBrand: unique symbol;

/** `<algorithm>:<hex>`, known to be well formed: only `checkDigest`/`parseDigest` and `digestOf` make one. */
export type Digest = `${DigestAlgorithm}:${string}` & { readonly [digestBrand]: true };

/** Why a string is not a digest berth accepts. */
export type DigestProblem =
  /** Not `algorithm ":" encoded` by the spec's grammar at all. */
  | 'malformed'
  /** Well formed, but of an algorithm berth does not compute. */
  | 'unsupported-algorithm'
  /** A known algorithm whose encoded part has the wrong length. */
  | 'wrong-length'
  /** A known algorithm whose encoded part is not lower-case hex (upper case included). */
  | 'not-lowercase-hex';

export type DigestCheck =
  | { ok: true; digest: Digest; algorithm: DigestAlgorithm; hex: string }
  | { ok: false; problem: DigestProblem };

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

// The distribution-spec's digest grammar: algorithm-component ([+._-] algorithm-component)* ":" [a-zA-Z0-9=_-]+
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const LOWER_HEX = /^[a-f0-9]+$/;
const MAX_ECHOED_INPUT = 200;

export function isDigestAlgorithm(value: unknown): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/** Checks `value` without throwing; the problem names which rule it broke. */
export function checkDigest(value: string): DigestCheck {
  if (!DIGEST_GRAMMAR.test(value)) return { ok: false, problem: 'malformed' };
  const separator = value.indexOf(':');
  const algorithm = value.slice(0, separator);
  const hex = value.slice(separator + 1);
  if (!isDigestAlgorithm(algorithm)) return { ok: false, problem: 'unsupported-algorithm' };
  if (hex.length !== HEX_LENGTH[algorithm]) return { ok: false, problem: 'wrong-length' };
  if (!LOWER_HEX.test(hex)) return { ok: false, problem: 'not-lowercase-hex' };
  return { ok: true, digest: value as Digest, algorithm, hex };
}

/**
 * A digest from client input, or DIGEST_INVALID (400) naming the problem. An unsupported but
 * well-formed algorithm is DIGEST_INVALID too, not UNSUPPORTED: the reference answers every
 * digest that go-digest refuses (ErrDigestUnsupported included) with DIGEST_INVALID, and
 * UNSUPPORTED would mean 405 Method Not Allowed, which would misdirect the client.
 */
export function parseDigest(value: string): Digest {
  const checked = checkDigest(value);
  if (checked.ok) return checked.digest;
  throw new OciError('DIGEST_INVALID', describeDigestProblem(value, checked.problem));
}

export function describeDigestProblem(value: string, problem: DigestProblem): string {
  const shown = JSON.stringify(value.length > MAX_ECHOED_INPUT ? `${value.slice(0, MAX_ECHOED_INPUT)}…` : value);
  switch (problem) {
    case 'malformed':
      return `${shown} is not a digest: expected <algorithm>:<encoded>`;
    case 'unsupported-algorithm':
      return `${shown} uses an unsupported digest algorithm: expected sha256 or sha512`;
    case 'wrong-length':
      return `${shown} has an encoded part of the wrong length for its algorithm (sha256: 64, sha512: 128 hex characters)`;
    case 'not-lowercase-hex':
      return `${shown} has an encoded part that is not lower-case hex`;
  }
}

/** The two halves of a digest known to be well formed. */
export function splitDigest(digest: Digest): { algorithm: DigestAlgorithm; hex: string } {
  const separator = digest.indexOf(':');
  return { algorithm: digest.slice(0, separator) as DigestAlgorithm, hex: digest.slice(separator + 1) };
}

/** The digest of bytes already in memory (manifests, link files: small by nature). */
export function digestOf(content: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(content).digest('hex')}` as Digest;
}
