import type { Readable } from 'node:stream';
import type { Digest } from '@berth/oci';

/**
 * Messages the upload service answers: blob upload sessions, mounts, blob deletion.
 *
 * Upload state travels with the client: `state` is the opaque token (HMAC-signed with
 * `http.secret`) that the gateway puts into the Location's `_state` parameter and hands
 * back on every later request of the session, so any upload instance can take any call.
 *
 * Messages with a `body` carry blob bytes as a stream. Bytes never enter Redis: in the
 * distributed mode those messages travel over the upload service's internal HTTP listener.
 * WARNING: the pattern strings are wire names; renaming one breaks mixed-version clusters.
 */
export const UploadPattern = {
  Start: 'upload.start',
  Append: 'upload.append',
  Finish: 'upload.finish',
  Status: 'upload.status',
  Cancel: 'upload.cancel',
  DeleteBlob: 'upload.blob.delete',
} as const;

/**
 * The messages whose requests carry blob bytes (`body`): with services apart they travel over
 * an upload instance's internal HTTP listener, and the Redis transport refuses them.
 */
export const STREAMED_UPLOAD_PATTERNS: readonly string[] = [UploadPattern.Append, UploadPattern.Finish];

/**
 * The messages a second run would answer differently from the first: a cancelled session or an
 * unlinked blob is unknown the second time (404). When the instance that took one dies before
 * answering, the bus answers it 503 rather than run it again. `upload.start` is replayed: a second
 * run opens another session (the first, never handed out, goes with upload purging) or mounts the
 * same blob again; `upload.status` only reads.
 */
export const UNREPLAYABLE_UPLOAD_PATTERNS: readonly string[] = [UploadPattern.Cancel, UploadPattern.DeleteBlob];

/** The name upload instances announce themselves under in the service directory (a wire name too). */
export const UPLOAD_SERVICE = 'upload';

/** Where a session stands: its id, the bytes received, and the signed state for the next call. */
export interface UploadProgress {
  id: string;
  offset: number;
  state: string;
}

/** The gateway's reading of `Content-Range` (`<start>-<end>`, inclusive) for a chunk. */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface UploadMessages {
  [UploadPattern.Start]: {
    /**
     * `mount` asks to link an existing blob (from `from`, or from any readable repository
     * when `from` is absent); when it cannot, a new session starts instead.
     */
    request: { repository: string; mount?: { digest: Digest; from?: string } };
    reply: { kind: 'mounted'; digest: Digest } | ({ kind: 'session' } & UploadProgress);
  };
  [UploadPattern.Append]: {
    request: { repository: string; id: string; state: string; range?: ChunkRange; length?: number; body: Readable };
    reply: UploadProgress;
  };
  [UploadPattern.Finish]: {
    /** The last chunk may come with the PUT; `body` is absent when the PUT has none. */
    request: {
      repository: string;
      id: string;
      state: string;
      digest: Digest;
      range?: ChunkRange;
      length?: number;
      body?: Readable;
    };
    reply: { digest: Digest; size: number };
  };
  [UploadPattern.Status]: {
    request: { repository: string; id: string; state: string };
    reply: UploadProgress;
  };
  [UploadPattern.Cancel]: {
    request: { repository: string; id: string; state: string };
    reply: Record<string, never>;
  };
  [UploadPattern.DeleteBlob]: {
    /** Unlinks the blob from the repository; the bytes go at garbage collection. */
    request: { repository: string; digest: Digest };
    reply: Record<string, never>;
  };
}
