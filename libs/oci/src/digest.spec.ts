import { describe, expect, it } from 'vitest';
import { checkDigest, digestOf, parseDigest, splitDigest } from './digest';
import { OciError } from './errors/oci-error';

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX128 = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

describe('checkDigest', () => {
  it('accepts sha256 and sha512 in lower-case hex', () => {
    expect(checkDigest(`sha256:${HEX64}`)).toEqual({ ok: true, digest: `sha256:${HEX64}`, algorithm: 'sha256', hex: HEX64 });
    expect(checkDigest(`sha512:${HEX128}`)).toEqual({ ok: true, digest: `sha512:${HEX128}`, algorithm: 'sha512', hex: HEX128 });
  });

  it.each([
    ['', 'malformed'],
    ['sha256', 'malformed'],
    [`:${HEX64}`, 'malformed'],
    ['sha256:', 'malformed'],
    [`SHA256:${HEX64}`, 'malformed'],
    [`sha256:${HEX64}/..`, 'malformed'],
    [`sha256::${HEX64}`, 'malformed'],
    [`sha256:${HEX64} `, 'malformed'],
    [`md5:${'a'.repeat(32)}`, 'unsupported-algorithm'],
    [`sha384:${'a'.repeat(96)}`, 'unsupported-algorithm'],
    [`multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8`, 'unsupported-algorithm'],
    [`sha256:${HEX64.slice(1)}`, 'wrong-length'],
    [`sha256:${HEX64}a`, 'wrong-length'],
    [`sha512:${HEX64}`, 'wrong-length'],
    [`sha256:${HEX64.toUpperCase()}`, 'not-lowercase-hex'],
    [`sha256:${'g'.repeat(64)}`, 'not-lowercase-hex'],
  ])('refuses %j as %s', (value, problem) => {
    expect(checkDigest(value)).toEqual({ ok: false, problem });
  });
});

describe('parseDigest', () => {
  it('returns the digest unchanged', () => {
    expect(parseDigest(`sha256:${HEX64}`)).toBe(`sha256:${HEX64}`);
  });

  it('answers DIGEST_INVALID (400) for every problem, naming it in the detail', () => {
    const details = new Set<string>();
    for (const value of ['nope', `md5:${'a'.repeat(32)}`, `sha256:${HEX64.slice(2)}`, `sha256:${HEX64.toUpperCase()}`]) {
      try {
        parseDigest(value);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(OciError);
        expect((error as OciError).code).toBe('DIGEST_INVALID');
        expect((error as OciError).status).toBe(400);
        details.add(String((error as OciError).detail));
      }
    }
    expect(details.size).toBe(4);
  });

  it('does not echo unbounded input back', () => {
    try {
      parseDigest('x'.repeat(100_000));
      expect.unreachable();
    } catch (error) {
      expect(String((error as OciError).detail).length).toBeLessThan(400);
    }
  });
});

describe('digestOf and splitDigest', () => {
  it('hash the empty input to the well-known digests', () => {
    expect(digestOf('')).toBe(`sha256:${HEX64}`);
    expect(digestOf(new Uint8Array(), 'sha512')).toBe(`sha512:${HEX128}`);
  });

  it('split a digest into algorithm and hex', () => {
    expect(splitDigest(parseDigest(`sha512:${HEX128}`))).toEqual({ algorithm: 'sha512', hex: HEX128 });
  });
});
