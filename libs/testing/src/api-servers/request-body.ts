import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';

/** The most a control body (JSON metadata, an XML part list) may hold: object bytes never come this way. */
const SMALL_BODY_LIMIT = 1024 * 1024;

/** A body that is a request's metadata (JSON, XML), read whole; one past the limit is refused. */
export async function readSmallBody(req: AsyncIterable<Buffer>, limit = SMALL_BODY_LIMIT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error(`a metadata body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a body to its end and forgets it, so that the connection can serve the next request. */
export async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discarded
  }
}

/** What was received into a file. */
export interface ReceivedFile {
  size: number;
  /** MD5 of the bytes, as a Buffer: GCS shows it in base64, OSS in hex. */
  md5: Buffer;
}

/** Streams `body` into a new `file`, hashing it on the way: no object body is ever held whole. */
export async function receiveToFile(body: AsyncIterable<Buffer>, file: string): Promise<ReceivedFile> {
  const md5 = createHash('md5');
  let size = 0;
  const handle = await open(file, 'w');
  try {
    for await (const chunk of body) {
      md5.update(chunk);
      size += chunk.length;
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return { size, md5: md5.digest() };
}

/** One event of a multipart body, in order: a part's headers, then its bytes in pieces. */
export type MultipartEvent = { headers: Record<string, string> } | { data: Buffer };

const HEADER_LIMIT = 16 * 1024;

/**
 * Splits a multipart body (RFC 2046) as it streams: each part's headers, then its bytes as they
 * arrive, holding no more than a delimiter's length of them. The body is taken as if preceded by
 * CRLF, so the first delimiter looks like every other one.
 */
export async function* multipartEvents(body: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<MultipartEvent> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let pending: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'headers' | 'data' | 'epilogue' = 'preamble';
  for await (const chunk of body) {
    if (state === 'epilogue') continue;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (state === 'epilogue') break;
      if (state === 'headers') {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (pending.length > HEADER_LIMIT) throw new Error('multipart part headers too long');
          break;
        }
        yield { headers: parseHeaders(pending.subarray(0, end)) };
        pending = pending.subarray(end + 4);
        state = 'data';
        continue;
      }
      const at = pending.indexOf(delimiter);
      if (at < 0) {
        // The tail may be the start of a delimiter: kept until the next chunk tells.
        const safe = Math.max(0, pending.length - delimiter.length);
        if (state === 'data' && safe > 0) yield { data: pending.subarray(0, safe) };
        pending = pending.subarray(safe);
        break;
      }
      if (state === 'data' && at > 0) yield { data: pending.subarray(0, at) };
      pending = pending.subarray(at);
      // The two bytes after the delimiter: `--` closes the body, CRLF starts a part.
      if (pending.length < delimiter.length + 2) break;
      const after = pending.subarray(delimiter.length, delimiter.length + 2).toString('latin1');
      pending = pending.subarray(delimiter.length + 2);
      state = after === '--' ? 'epilogue' : 'headers';
    }
  }
  if (state !== 'epilogue') throw new Error('multipart body ended before its closing delimiter');
}

function parseHeaders(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
