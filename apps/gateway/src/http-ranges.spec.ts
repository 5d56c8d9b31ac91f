import { OciError } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { parseChunkRange, parseRangeHeader, uploadRangeHeader } from './http-ranges';

function failure(parse: () => unknown): OciError {
  try {
    parse();
  } catch (error) {
    if (error instanceof OciError) return error;
    throw error;
  }
  throw new Error('expected an OciError');
}

describe('parseRangeHeader (a blob GET)', () => {
  it('no header is the whole blob', () => {
    expect(parseRangeHeader(undefined, 100)).toBeUndefined();
  });

  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    // An end past the blob is cut to its last byte; a suffix longer than it is the whole blob (RFC 9110 §14.1.2).
    ['bytes=50-1000', { start: 50, end: 99 }],
    ['bytes=-1000', { start: 0, end: 99 }],
    ['bytes=99-99', { start: 99, end: 99 }],
    [' bytes=0-0 ', { start: 0, end: 0 }],
  ])('%s of 100 bytes → %o', (header, range) => {
    expect(parseRangeHeader(header, 100)).toEqual(range);
  });

  it.each([
    ['a start past the end', 'bytes=100-', 100],
    ['an end before the start', 'bytes=9-0', 100],
    ['no numbers', 'bytes=-', 100],
    ['an empty suffix', 'bytes=-0', 100],
    ['any range of an empty blob', 'bytes=0-', 0],
    ['a suffix of an empty blob', 'bytes=-5', 0],
    ['several ranges (no multipart/byteranges)', 'bytes=0-1,5-6', 100],
    ['another unit', 'items=0-9', 100],
    ['a negative start', 'bytes=-5-9', 100],
  ])('refuses %s with 416 RANGE_INVALID and the blob size in Content-Range', (_title, header, size) => {
    const error = failure(() => parseRangeHeader(header, size));
    expect([error.code, error.status]).toEqual(['RANGE_INVALID', 416]);
    expect(error.headers).toEqual({ 'Content-Range': `bytes */${size}` });
    expect(error.detail).toBe(`cannot serve ${header} of a ${size}-byte blob`);
  });
});

describe('parseChunkRange (an upload PATCH or PUT)', () => {
  it.each([undefined, ''])('no Content-Range (%j) is no range', (header) => {
    expect(parseChunkRange(header)).toBeUndefined();
  });

  it.each([
    ['0-99', { start: 0, end: 99 }],
    ['100-100', { start: 100, end: 100 }],
    // The reference takes the unit some clients send.
    ['bytes 5-9', { start: 5, end: 9 }],
  ])('%s → %o', (header, range) => {
    expect(parseChunkRange(header)).toEqual(range);
  });

  it.each([
    ['a total (an HTTP response form)', 'bytes 0-9/10', 'malformed Content-Range "bytes 0-9/10": expected <start>-<end>'],
    ['an open end', '0-', 'malformed Content-Range "0-": expected <start>-<end>'],
    ['a unit with =', 'bytes=0-9', 'malformed Content-Range "bytes=0-9": expected <start>-<end>'],
    ['an end before the start', '10-9', 'Content-Range "10-9" ends before it starts'],
  ])('refuses %s with 416 RANGE_INVALID (never a 404 that would say the session is gone)', (_title, header, message) => {
    const error = failure(() => parseChunkRange(header));
    expect([error.code, error.status]).toEqual(['RANGE_INVALID', 416]);
    expect(error.detail).toBe(message);
  });
});

describe('uploadRangeHeader', () => {
  it.each([
    [0, '0-0'],
    [1, '0-0'],
    [10, '0-9'],
  ])('%i bytes received → Range: %s', (offset, header) => {
    expect(uploadRangeHeader(offset)).toBe(header);
  });
});
