/**
 * The registered OCI error descriptors: one table, after Distribution's
 * `registry/api/errcode/register.go` (v2.8, where the `registry.api.v2` group still lived in
 * `registry/api/v2/errors.go`) and the distribution-spec's error-code table.
 *
 * Messages are the reference's text byte for byte: clients and scripts match on them.
 * Statuses are the reference's where it and the spec (or a first guess) disagree, because
 * berth is a drop-in replacement and the reference is what clients have been tested against:
 *
 * - UNSUPPORTED is 405 Method Not Allowed (the spec lists the code without a status).
 * - MANIFEST_BLOB_UNKNOWN is 400: a manifest PUT naming a missing blob is a bad request, not a
 *   missing resource (the PUT target does exist as a URL).
 * - BLOB_UPLOAD_INVALID is 404: the reference answers it when an upload's state cannot be
 *   trusted any more, and the session is then as good as gone.
 * - RANGE_INVALID is 416: an out-of-order chunk (the spec: "MUST respond with a 416").
 * - An oversized manifest is SIZE_INVALID with a 413 override, not a code of its own: the spec
 *   asks for 413 Payload Too Large and names no code; SIZE_INVALID is the spec's code for "the
 *   length is wrong" and, unlike the reference's MANIFEST_INVALID/400, tells a client that
 *   retrying the same bytes cannot succeed.
 */
export interface ErrorDescriptor {
  /** The `code` of the wire form: upper case with underscores. */
  readonly code: string;
  /** The `message` of the wire form: the reference's text for the code. */
  readonly message: string;
  /** The HTTP status an error with this code answers with unless overridden. */
  readonly status: number;
  readonly description: string;
}

function descriptor<C extends string>(code: C, message: string, status: number, description: string) {
  return { code, message, status, description } as const;
}

export const errorDescriptors = {
  // Group "errcode": errors any API may answer.
  UNKNOWN: descriptor('UNKNOWN', 'unknown error', 500, 'The error has no API classification.'),
  UNSUPPORTED: descriptor(
    'UNSUPPORTED',
    'The operation is unsupported.',
    405,
    'The operation is unsupported, for want of an implementation or because of an invalid set of parameters.',
  ),
  UNAUTHORIZED: descriptor(
    'UNAUTHORIZED',
    'authentication required',
    401,
    'The client could not be authenticated; a WWW-Authenticate header says how to authenticate.',
  ),
  DENIED: descriptor(
    'DENIED',
    'requested access to the resource is denied',
    403,
    'The access controller denied the operation on the resource.',
  ),
  UNAVAILABLE: descriptor('UNAVAILABLE', 'service unavailable', 503, 'The service is not available.'),
  TOOMANYREQUESTS: descriptor(
    'TOOMANYREQUESTS',
    'too many requests',
    429,
    'The client has contacted the service too many times.',
  ),

  // Group "registry.api.v2".
  DIGEST_INVALID: descriptor(
    'DIGEST_INVALID',
    'provided digest did not match uploaded content',
    400,
    'The content does not match the digest the client provided, or the digest itself is invalid or of an unsupported algorithm.',
  ),
  SIZE_INVALID: descriptor(
    'SIZE_INVALID',
    'provided length did not match content length',
    400,
    'The uploaded length does not match the length the client declared (413 when a manifest exceeds the size limit).',
  ),
  RANGE_INVALID: descriptor(
    'RANGE_INVALID',
    'invalid content range',
    416,
    'The range of an uploaded chunk is out of order, or a requested byte range cannot be served.',
  ),
  NAME_INVALID: descriptor(
    'NAME_INVALID',
    'invalid repository name',
    400,
    'The repository name does not match the distribution-spec grammar.',
  ),
  TAG_INVALID: descriptor(
    'TAG_INVALID',
    'manifest tag did not match URI',
    400,
    'The tag does not match the tag grammar, or the tag in a manifest does not match the one in the URI.',
  ),
  NAME_UNKNOWN: descriptor(
    'NAME_UNKNOWN',
    'repository name not known to registry',
    404,
    'The repository does not exist.',
  ),
  MANIFEST_UNKNOWN: descriptor(
    'MANIFEST_UNKNOWN',
    'manifest unknown',
    404,
    'The manifest, named by tag or digest, is not in the repository.',
  ),
  MANIFEST_INVALID: descriptor(
    'MANIFEST_INVALID',
    'manifest invalid',
    400,
    'The manifest failed validation; the detail says which check failed.',
  ),
  MANIFEST_UNVERIFIED: descriptor(
    'MANIFEST_UNVERIFIED',
    'manifest failed signature verification',
    400,
    'The manifest failed signature verification.',
  ),
  MANIFEST_BLOB_UNKNOWN: descriptor(
    'MANIFEST_BLOB_UNKNOWN',
    'blob unknown to registry',
    400,
    'The manifest references a blob or manifest that is not in the repository.',
  ),
  BLOB_UNKNOWN: descriptor(
    'BLOB_UNKNOWN',
    'blob unknown to registry',
    404,
    'The blob is not in the repository.',
  ),
  BLOB_UPLOAD_UNKNOWN: descriptor(
    'BLOB_UPLOAD_UNKNOWN',
    'blob upload unknown to registry',
    404,
    'The upload was cancelled, has expired, or never started.',
  ),
  BLOB_UPLOAD_INVALID: descriptor(
    'BLOB_UPLOAD_INVALID',
    'blob upload invalid',
    404,
    'The upload encountered an error and can no longer proceed.',
  ),
  PAGINATION_NUMBER_INVALID: descriptor(
    'PAGINATION_NUMBER_INVALID',
    'invalid number of results requested',
    400,
    'The "n" parameter is not a non-negative integer, or exceeds the maximum allowed.',
  ),

  // berth's own. The reference answers a path outside its routes with gorilla/mux's plain-text
  // "404 page not found"; berth keeps every answer in the OCI error format. The spec tells
  // clients to treat codes they do not know as UNKNOWN, so an extra code is safe.
  NOT_FOUND: descriptor('NOT_FOUND', 'not found', 404, 'No endpoint of the registry API matches the request.'),
} as const satisfies Record<string, ErrorDescriptor>;

export type ErrorCode = keyof typeof errorDescriptors;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(errorDescriptors, value);
}

export function descriptorOf(code: ErrorCode): ErrorDescriptor {
  return errorDescriptors[code];
}
