import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JsonBlob, matchesAt, SyntheticBlob } from './blob-source';

const concat = (chunks: Iterable<Buffer>): Buffer => Buffer.concat([...chunks]);
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('SyntheticBlob', () => {
  const blob = new SyntheticBlob(3 * 1024 * 1024 + 5);

  it('streams exactly its size, and its digest is the sha256 of what it streams', () => {
    const bytes = concat(blob.chunks());
    expect(bytes.length).toBe(blob.size);
    expect(sha256(bytes)).toBe(blob.digest);
  });

  it('cuts into ranges that add up to the whole, as chunked PATCHes send it', () => {
    const whole = concat(blob.chunks());
    const cuts = [0, 7, 32, 33, 1024 * 1024 + 31, 2 * 1024 * 1024 + 40, blob.size];
    const pieces = cuts.slice(1).map((end, index) => concat(blob.chunks(cuts[index], end)));
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
  });

  it('gives every blob its own digest though they share the random block', () => {
    expect(new SyntheticBlob(1024).digest).not.toBe(new SyntheticBlob(1024).digest);
  });
});

describe('JsonBlob', () => {
  it('streams the JSON text and hashes it', () => {
    const blob = new JsonBlob({ os: 'linux' });
    expect(concat(blob.chunks()).toString()).toBe('{"os":"linux"}');
    expect(blob.digest).toBe(sha256(Buffer.from('{"os":"linux"}')));
  });
});

describe('matchesAt', () => {
  const blob = new SyntheticBlob(2 * 1024 * 1024 + 7);
  const whole = concat(blob.chunks());

  it('accepts the blob\'s own bytes, in pieces cut anywhere', () => {
    const cuts = [0, 5, 32, 40_000, 1024 * 1024 + 3, blob.size];
    for (const [index, end] of cuts.slice(1).entries()) expect(matchesAt(blob, cuts[index]!, whole.subarray(cuts[index], end))).toBe(true);
  });

  it('refuses another blob of the same size (they differ in their first 32 bytes only), a shifted piece, and bytes past the end', () => {
    const other = concat(new SyntheticBlob(blob.size).chunks());
    expect(matchesAt(blob, 0, other.subarray(0, 64 * 1024))).toBe(false);
    expect(matchesAt(blob, 1, whole.subarray(0, 1000))).toBe(false);
    expect(matchesAt(blob, blob.size - 3, Buffer.alloc(4))).toBe(false);
  });
});
