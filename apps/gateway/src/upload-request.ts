import { OciError } from '@berth/oci';
import type { HttpRequest } from './http-answers';
import type { ByteRange } from './http-ranges';

/** The signed upload state the Location's `_state` parameter carries (see the upload contract). */
export function uploadStateOf(query: URLSearchParams): string {
  const state = query.get('_state');
  if (state === null) throw new OciError('BLOB_UPLOAD_INVALID', 'the upload URL lacks its _state parameter');
  return state;
}

/**
 * The request body as a chunk: its stream, its declared length and range, checked against
 * each other. No body at all (no length, not chunked) gives nothing.
 *
 * The two headers are checked here, once: whether they agree needs nothing but the request,
 * which is the gateway's to validate (DESIGN.md); the upload service checks what needs the
 * session (that the range starts at its offset, that the announced bytes arrived).
 */
export function chunkOf(req: HttpRequest, range?: ByteRange): { body?: HttpRequest; length?: number; range?: ByteRange } {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && !Number.isSafeInteger(length)) {
    throw new OciError('SIZE_INVALID', `Content-Length "${declared}" is not a byte count`);
  }
  if (range && length !== undefined && length !== range.end - range.start + 1) {
    throw new OciError('SIZE_INVALID', `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`);
  }
  const hasBody = (length ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  return {
    ...(hasBody ? { body: req } : {}),
    ...(length !== undefined ? { length } : {}),
    ...(range ? { range } : {}),
  };
}
