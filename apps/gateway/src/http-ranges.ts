import { OciError } from '@berth/oci';

/** An inclusive byte range, as HTTP writes it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A `Range: bytes=a-b | a- | -n` header against a blob of `size` bytes (RFC 9110 §14.1.2);
 * `undefined` when absent. One range only: registries serve no multipart/byteranges.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () =>
    new OciError('RANGE_INVALID', `cannot serve ${header} of a ${size}-byte blob`, { 'Content-Range': `bytes */${size}` });
  if (!match || (match[1] === '' && match[2] === '')) throw unsatisfiable();
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || start > end) throw unsatisfiable();
  return { start, end };
}

/**
 * An upload chunk's `Content-Range: <start>-<end>` (the distribution-spec's form, no
 * `bytes ` unit, though clients that send one are accepted as the reference does).
 */
export function parseChunkRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^(?:bytes )?(\d+)-(\d+)$/.exec(header.trim());
  // RANGE_INVALID (416), not BLOB_UPLOAD_INVALID: the reference gives that code a 404, which
  // would tell the client its session is gone.
  if (!match) throw new OciError('RANGE_INVALID', `malformed Content-Range "${header}": expected <start>-<end>`);
  const range = { start: Number(match[1]), end: Number(match[2]) };
  if (range.end < range.start) {
    throw new OciError('RANGE_INVALID', `Content-Range "${header}" ends before it starts`);
  }
  return range;
}

/** The `Range` header of an upload's progress: bytes `0-<offset-1>` received (`0-0` when none). */
export function uploadRangeHeader(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}
