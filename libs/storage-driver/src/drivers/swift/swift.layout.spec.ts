import { createHash } from 'node:crypto';
import { readFixture } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { parseSegmentName, segmentName, SwiftLayout } from './swift.layout';

const EMPTY_SHA1 = createHash('sha1').digest('hex');
const seedListing = readFixture('seed-swift-listing.txt');

/** The bytes a segment folder name encodes: `h` is the hex of path + 32 random bytes + sha1(""). */
function folderBytes(folder: string): Buffer {
  const [, first, rest] = /^(?:.*\/)?segments\/([0-9a-f]{3})\/([0-9a-f]+)$/.exec(folder) ?? [];
  if (first === undefined || rest === undefined) throw new Error(`not a segment folder: ${folder}`);
  return Buffer.from(first + rest, 'hex');
}

describe('SwiftLayout', () => {
  it('keeps files under files/ and the optional prefix, without leading or trailing slashes', () => {
    expect(new SwiftLayout(undefined).objectName('/docker/registry/v2/x')).toBe('files/docker/registry/v2/x');
    expect(new SwiftLayout('/pre/fix/').objectName('/a')).toBe('pre/fix/files/a');
    expect(new SwiftLayout(undefined).objectName('/')).toBe('files');
    expect(new SwiftLayout('pre').directoryPrefix('/')).toBe('pre/files/');
    expect(new SwiftLayout('pre').driverPath('pre/files/a/b/')).toBe('/a/b');
  });

  it('reads the seed listing as this scheme: path, 32 random bytes, sha1("")', () => {
    const segments = seedListing.split('\n').filter((line) => line.startsWith('segments/'));
    expect(segments).toHaveLength(2);
    for (const line of segments) {
      const parsed = parseSegmentName(line);
      expect(parsed?.number).toBe(1);
      const bytes = folderBytes(parsed!.folder);
      const path = bytes.subarray(0, bytes.length - 52).toString();
      expect(path).toMatch(/^\/docker\/registry\/v2\/repositories\/busybox\/_uploads\/[0-9a-f-]{36}\/data$/);
      expect(bytes.subarray(bytes.length - 20).toString('hex')).toBe(EMPTY_SHA1);
    }
  });

  it('names a writer segment folder the same way, fresh for every writer', () => {
    const layout = new SwiftLayout(undefined);
    const path = '/docker/registry/v2/repositories/busybox/_uploads/8a62d5af-628b-4d70-8615-3ca3d491087c/data';
    const folder = layout.newSegmentFolder(path);
    const bytes = folderBytes(folder);
    expect(bytes.subarray(0, Buffer.byteLength(path)).toString()).toBe(path);
    expect(bytes.length).toBe(Buffer.byteLength(path) + 32 + 20);
    expect(bytes.subarray(bytes.length - 20).toString('hex')).toBe(EMPTY_SHA1);
    expect(layout.newSegmentFolder(path)).not.toBe(folder);
    expect(new SwiftLayout('/pre').newSegmentFolder(path)).toMatch(/^pre\/segments\/2f6\/46f/);
  });

  it('numbers segments %016d from 1 and parses them back', () => {
    expect(segmentName('segments/abc/def', 1)).toBe('segments/abc/def/0000000000000001');
    expect(segmentName('segments/abc/def', 1234)).toBe('segments/abc/def/0000000000001234');
    expect(parseSegmentName('segments/abc/def/0000000000000042')).toEqual({ folder: 'segments/abc/def', number: 42 });
    expect(parseSegmentName('segments/abc/def/42')).toBeUndefined();
    expect(parseSegmentName('0000000000000042')).toBeUndefined();
  });

  it('hashes a path too long for Swift object names, keeping the shape and the limit', () => {
    const path = `/${'n'.repeat(200)}/${'m'.repeat(200)}/${'o'.repeat(200)}/data`;
    const folder = new SwiftLayout(undefined).newSegmentFolder(path, 1024);
    expect(segmentName(folder, 1).length).toBeLessThanOrEqual(1024);
    expect(folderBytes(folder).length).toBe(32 + 32 + 20);
    expect(new SwiftLayout(undefined).newSegmentFolder('/short/data', 1024)).toMatch(/^segments\/2f7\/3686f72742f64617461/);
  });
});
