import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OciError } from '@berth/oci';

/**
 * What travels with the client between the calls of one upload session, in the Location's
 * `_state` parameter. Storage stays the truth about the bytes; the state only proves that
 * this registry handed out this session id for this repository.
 */
export interface UploadState {
  name: string;
  uuid: string;
  offset: number;
  /** RFC 3339, as in the session's `startedat` file. */
  startedAt: string;
}

/** SHA-256 output length: the MAC in front of the JSON. */
const MAC_BYTES = 32;

/**
 * Signs and checks upload state tokens exactly as Distribution's `registry/handlers/hmac.go`:
 * base64url (padded) of HMAC-SHA256(json) followed by the json, whose keys are the Go
 * struct's field names. Byte-compatible on purpose: with the same `http.secret`, a session
 * started on the reference registry can be continued on berth and the other way round.
 */
export class UploadStateSigner {
  constructor(private readonly secret: string) {}

  pack(state: UploadState): string {
    const message = Buffer.from(
      JSON.stringify({ Name: state.name, UUID: state.uuid, Offset: state.offset, StartedAt: state.startedAt }),
    );
    return Buffer.concat([this.mac(message), message]).toString('base64url').padEnd(paddedLength(message.length), '=');
  }

  /**
   * The state in `token` when it is signed with this secret and belongs to upload `uuid` of
   * `repository`; otherwise BLOB_UPLOAD_INVALID, as the reference answers a bad, foreign or
   * mismatched `_state` (it answers BLOB_UPLOAD_UNKNOWN only for a well-signed state whose
   * upload is gone).
   */
  unpack(token: string, repository: string, uuid: string): UploadState {
    const state = this.verify(token);
    if (state.name !== repository) {
      throw new OciError('BLOB_UPLOAD_INVALID', 'the upload state belongs to another repository');
    }
    if (state.uuid !== uuid) throw new OciError('BLOB_UPLOAD_INVALID', 'the upload state belongs to another upload');
    return state;
  }

  private verify(token: string): UploadState {
    if (!/^[A-Za-z0-9_-]*={0,2}$/.test(token)) throw invalidToken('not base64url');
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length < MAC_BYTES) throw invalidToken('too short');
    const message = bytes.subarray(MAC_BYTES);
    if (!timingSafeEqual(bytes.subarray(0, MAC_BYTES), this.mac(message))) throw invalidToken('bad signature');
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.toString('utf8'));
    } catch {
      throw invalidToken('not JSON');
    }
    return toUploadState(parsed);
  }

  private mac(message: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(message).digest();
  }
}

/**
 * The secret for upload state tokens: `http.secret`, or, when the configuration has none,
 * a random one for this process, as the reference does, with its warning: tokens signed by
 * one process are refused by any other (a restart, another replica).
 */
export function uploadStateSecret(configured: string | undefined, warn: (message: string) => void): string {
  if (configured) return configured;
  warn(
    'http.secret is not set: generated a random secret for upload state. Resumable uploads will not survive a ' +
      'restart, and will fail behind a load balancer with more than one replica; set http.secret to the same ' +
      'value on every instance.',
  );
  return randomBytes(32).toString('base64url');
}

function toUploadState(value: unknown): UploadState {
  if (typeof value !== 'object' || value === null) throw invalidToken('not an object');
  // Go's encoding/json matches keys case-insensitively; read what Go writes and what berth writes.
  const fields = new Map(Object.entries(value).map(([key, field]) => [key.toLowerCase(), field as unknown]));
  const name = fields.get('name');
  const uuid = fields.get('uuid');
  const offset = fields.get('offset');
  const startedAt = fields.get('startedat');
  if (typeof name !== 'string' || typeof uuid !== 'string' || typeof startedAt !== 'string') {
    throw invalidToken('fields missing');
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw invalidToken('bad offset');
  return { name, uuid, offset, startedAt };
}

function invalidToken(reason: string): OciError {
  return new OciError('BLOB_UPLOAD_INVALID', `invalid upload state: ${reason}`);
}

/** Go's `base64.URLEncoding` pads; the reference refuses an unpadded token. */
function paddedLength(messageLength: number): number {
  return Math.ceil((MAC_BYTES + messageLength) / 3) * 4;
}
