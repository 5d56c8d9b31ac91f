import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type MultipartEvent, multipartEvents } from './request-body';

async function* inPieces(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function parts(body: AsyncIterable<Buffer>, boundary: string): Promise<Array<{ headers: Record<string, string>; body: Buffer }>> {
  const found: Array<{ headers: Record<string, string>; chunks: Buffer[] }> = [];
  for await (const event of multipartEvents(body, boundary) as AsyncIterable<MultipartEvent>) {
    if ('headers' in event) found.push({ headers: event.headers, chunks: [] });
    else found.at(-1)!.chunks.push(Buffer.from(event.data));
  }
  return found.map((part) => ({ headers: part.headers, body: Buffer.concat(part.chunks) }));
}

describe('multipartEvents', () => {
  const boundary = 'berth-boundary';
  const metadata = Buffer.from('{"name":"blobs/data"}');
  // Media that holds most of a delimiter, and CRLFs, so a split in the wrong place shows.
  const media = Buffer.concat([randomBytes(1000), Buffer.from(`\r\n--${boundary.slice(0, -1)}\r\n`), randomBytes(1000), Buffer.from('\r\n')]);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-type: application/json\r\n\r\n`),
    metadata,
    Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`),
    media,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

  it('gives each part its headers and exact bytes, however the body is cut', async () => {
    for (const size of [1, 2, 3, 7, 16, 17, 64, 1000, body.length]) {
      const found = await parts(inPieces(body, size), boundary);
      expect(found.map((part) => part.headers['content-type'])).toEqual(['application/json', 'application/octet-stream']);
      expect(found[0]!.body.equals(metadata)).toBe(true);
      expect(found[1]!.body.equals(media)).toBe(true);
    }
  });

  it('refuses a body cut before its closing delimiter', async () => {
    await expect(parts(inPieces(body.subarray(0, body.length - 10), 100), boundary)).rejects.toThrow(/closing delimiter/);
  });
});
