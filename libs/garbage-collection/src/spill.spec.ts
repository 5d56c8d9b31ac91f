import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Digest, digestOf } from '@berth/oci';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpilledDigestSet } from './spilled-digest-set';
import { SpillFile } from './spill-file';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-spill-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const digests = Array.from({ length: 600 }, (_, index) => digestOf(Buffer.from(`blob ${index}`)));
const hexOf = (digest: Digest): string => digest.slice('sha256:'.length);

/** The same answers whether the set stayed in memory or spilled to its bucket files. */
describe.each([
  { mode: 'in memory', buffered: 10_000, files: 0 },
  { mode: 'spilled', buffered: 50, files: 1 },
])('SpilledDigestSet $mode', ({ buffered, files }) => {
  it('answers buckets deduplicated, with the last value, and counts distinct digests', async () => {
    const set = await SpilledDigestSet.create(join(work, 'set'), buffered);
    for (const [index, digest] of digests.entries()) await set.add(digest, index);
    // Duplicates: the last value wins.
    for (const digest of digests.slice(0, 100)) await set.add(digest, 7);
    const first = digests[0] as Digest;
    const bucket = await set.bucket('sha256', hexOf(first).slice(0, 2));
    expect(bucket.get(hexOf(first))).toBe(7);
    for (const hex of bucket.keys()) expect(hex.startsWith(hexOf(first).slice(0, 2))).toBe(true);
    expect(await set.size()).toBe(digests.length);
    let seen = 0;
    for await (const each of set.buckets()) seen += each.size;
    expect(seen).toBe(digests.length);
    expect((await set.bucket('sha512', 'ab')).size).toBe(0);
    expect((await readdir(join(work, 'set'))).length > 0).toBe(files > 0);
  });
});

describe.each([
  { mode: 'in memory', buffered: 10_000, spills: false },
  { mode: 'spilled', buffered: 7, spills: true },
])('SpillFile $mode', ({ buffered, spills }) => {
  it('reads its lines back in order, counted', async () => {
    const file = new SpillFile(join(work, 'lines'), buffered);
    const lines = Array.from({ length: 100 }, (_, index) => `line ${index}`);
    for (const line of lines) await file.append(line);
    const read: string[] = [];
    for await (const line of file.lines()) read.push(line);
    expect(read).toEqual(lines);
    expect(file.count).toBe(lines.length);
    expect((await readdir(work)).includes('lines')).toBe(spills);
  });
});
