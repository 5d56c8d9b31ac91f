import { createHash, randomBytes } from 'node:crypto';

/** What a push sends: the bytes, as slices streamed in order, and their digest. */
export interface BlobContent {
  readonly digest: string;
  readonly size: number;
  chunks(start?: number, end?: number): Iterable<Buffer>;
}

/** One megabyte of random bytes, made once and shared by every synthetic blob. */
const sharedBlock = randomBytes(1024 * 1024);
const headerSize = 32;

/**
 * A blob of `size` bytes that never exists in memory: a unique 32-byte header (so no two
 * blobs share a digest and the registry cannot skip a write) followed by the shared random
 * block repeated. Random, so nothing on the way can compress it.
 */
export class SyntheticBlob implements BlobContent {
  readonly digest: string;
  private readonly header: Buffer;

  constructor(readonly size: number) {
    this.header = randomBytes(headerSize);
    const hash = createHash('sha256');
    for (const chunk of this.chunks()) hash.update(chunk);
    this.digest = `sha256:${hash.digest('hex')}`;
  }

  /** The bytes in [start, end) as slices of the header and the shared block, no copies. */
  *chunks(start = 0, end = this.size): Generator<Buffer> {
    let position = start;
    while (position < end) {
      if (position < headerSize) {
        const slice = this.header.subarray(position, Math.min(headerSize, end));
        position += slice.length;
        yield slice;
      } else {
        const offset = (position - headerSize) % sharedBlock.length;
        const slice = sharedBlock.subarray(offset, Math.min(sharedBlock.length, offset + end - position));
        position += slice.length;
        yield slice;
      }
    }
  }
}

/** A small JSON document pushed as a blob (an image config). */
export class JsonBlob implements BlobContent {
  readonly digest: string;
  readonly size: number;
  private readonly bytes: Buffer;

  constructor(value: unknown) {
    this.bytes = Buffer.from(JSON.stringify(value));
    this.size = this.bytes.length;
    this.digest = `sha256:${createHash('sha256').update(this.bytes).digest('hex')}`;
  }

  *chunks(start = 0, end = this.size): Generator<Buffer> {
    yield this.bytes.subarray(start, end);
  }
}

/**
 * Whether `bytes` are `blob`'s bytes from `start` on: compared byte for byte with what was
 * pushed, which costs the pull far less than hashing it, and tells apart two blobs that differ
 * in one byte.
 */
export function matchesAt(blob: BlobContent, start: number, bytes: Buffer): boolean {
  if (start + bytes.length > blob.size) return false;
  let offset = 0;
  for (const slice of blob.chunks(start, start + bytes.length)) {
    if (!slice.equals(bytes.subarray(offset, offset + slice.length))) return false;
    offset += slice.length;
  }
  return true;
}
