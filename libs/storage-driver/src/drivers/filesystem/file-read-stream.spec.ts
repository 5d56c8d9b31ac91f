import { randomBytes } from 'node:crypto';
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recycleChunk } from '../../recycled-chunks';
import { FileReadStream } from './file-read-stream';

/** Whether `fd` is an open descriptor (this test file opens no other files meanwhile). */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('FileReadStream', () => {
  let dir: string;
  let file: string;
  const content = randomBytes(10_000);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-file-read-stream-'));
    file = join(dir, 'data');
    writeFileSync(file, content);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads from the offset to the end in chunks, then closes its descriptor', async () => {
    const fd = openSync(file, 'r');
    const stream = new FileReadStream(fd, 1_000, content.length, 4_096);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    expect(chunks.map((chunk) => chunk.length)).toEqual([4_096, 4_096, 808]);
    expect(Buffer.concat(chunks)).toEqual(content.subarray(1_000));
    await finished(stream).catch(() => undefined);
    expect(isOpen(fd)).toBe(false);
  });

  it('fills a chunk handed back again instead of a new buffer, and ignores chunks it did not lend', async () => {
    const stream = new FileReadStream(openSync(file, 'r'), 0, content.length, 4_096);
    const memory: ArrayBufferLike[] = [];
    const received: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      memory.push(chunk.buffer);
      received.push(Buffer.from(chunk));
      recycleChunk(stream, Buffer.alloc(chunk.length));
      recycleChunk(stream, chunk);
      recycleChunk(stream, chunk);
    }
    expect(Buffer.concat(received)).toEqual(content);
    // One read ahead of the consumer: two buffers serve all three chunks.
    expect(new Set(memory).size).toBeLessThan(memory.length);
  });

  it('stops with an error when the file is shorter than it was when opened', async () => {
    const stream = new FileReadStream(openSync(file, 'r'), 0, content.length + 10, 4_096);
    await expect(async () => {
      for await (const _chunk of stream) void _chunk;
    }).rejects.toThrow(/ended at 10000 bytes/);
  });

  it('closes its descriptor only after a read in flight, when destroyed meanwhile', async () => {
    const fd = openSync(file, 'r');
    const stream = new FileReadStream(fd, 0, content.length, 4_096);
    stream.read(0); // starts the first read
    stream.destroy();
    expect(isOpen(fd)).toBe(true);
    await new Promise((resolve) => stream.once('close', resolve));
    expect(isOpen(fd)).toBe(false);
  });
});
