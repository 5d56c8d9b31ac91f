import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Bucket, File } from '@google-cloud/storage';
import { request } from 'undici';
import { StorageDriverError } from '../../errors';
import { UploadingWriter } from '../../uploading-writer';

const CONTENT_TYPE = 'application/octet-stream';

/**
 * Objects of the driver's own beside a file, named `~<file>.<random>.<kind>`: `~` is outside
 * the path grammar, so no driver path ever names them, and listings skip them.
 * `.part` holds an appending writer's bytes until they are composed onto the file;
 * `.session` holds the URI of a resumable upload in flight, so whoever deletes the
 * directory (upload purging, cancel) can cancel the session too.
 */
export function isPrivateName(name: string): boolean {
  return name.slice(name.lastIndexOf('/') + 1).startsWith('~');
}

export function isSessionMarker(name: string): boolean {
  return isPrivateName(name) && name.endsWith('.session');
}

function privateName(file: File, kind: 'part' | 'session'): string {
  const slash = file.name.lastIndexOf('/');
  return `${file.name.slice(0, slash + 1)}~${file.name.slice(slash + 1)}.${randomBytes(8).toString('hex')}.${kind}`;
}

/** Cancels resumable upload sessions (a DELETE of the session URI, which is its own credential). */
export class SessionCanceller {
  constructor(private readonly bucket: Bucket) {}

  async cancel(uri: string): Promise<void> {
    const response = await request(uri, { method: 'DELETE', headers: { 'content-length': '0' } });
    await response.body.dump();
    // 499: cancelled now; 404/410: finished, cancelled or expired already.
    if (![200, 204, 404, 410, 499].includes(response.statusCode)) {
      throw new StorageDriverError(`cancelling a resumable upload answered ${response.statusCode}`, 'gcs');
    }
  }

  /** Cancels the session a marker names, then removes the marker. */
  async cancelMarked(marker: File): Promise<void> {
    let uri: string | undefined;
    try {
      uri = (await marker.download({ validation: false }))[0].toString('utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
    }
    if (uri) await this.cancel(uri);
    await this.bucket.file(marker.name).delete({ ignoreNotFound: true });
  }
}

/**
 * Streams a file into GCS. Up to `chunkSize` bytes are held and, when the writer ends first,
 * sent in one request; past that a resumable upload session takes them, `chunkSize` (a
 * multiple of 256 KiB) at a time, each chunk re-sent by the SDK when it fails. Every writer
 * ends with a whole object: a new file is the session's object; a file continued (`append`)
 * gets the new bytes as a part composed onto it (or written in its place while it is empty),
 * so a file in progress is always readable and any instance continues it.
 */
export class GcsWriter extends UploadingWriter {
  private written: number;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private upload: Writable | undefined;
  private sessionUri: string | undefined;
  private marker: File | undefined;
  private readonly target: File;
  private done = false;

  constructor(
    private readonly bucket: Bucket,
    private readonly file: File,
    path: string,
    private readonly chunkSize: number,
    /** The file continued, when appending: its size and generation (compose only onto that one). */
    private readonly inherited: { size: number; generation: string } | undefined,
    private readonly sessions: SessionCanceller,
  ) {
    super(path, 'gcs');
    this.written = inherited?.size ?? 0;
    // An empty file is replaced rather than composed onto: one object, no part.
    this.target = inherited !== undefined && inherited.size > 0 ? bucket.file(privateName(file, 'part')) : file;
  }

  get size(): number {
    return this.written;
  }

  protected override async settle(): Promise<void> {
    this.upload?.destroy();
    // A writer that failed or was abandoned cannot be continued through its session: cancel it.
    if (!this.done && this.state !== 'cancelled') await this.dropSession();
  }

  protected async discard(): Promise<void> {
    await this.dropSession();
    await this.file.delete({ ignoreNotFound: true });
  }

  protected async append(chunk: Buffer): Promise<void> {
    this.written += chunk.length;
    if (this.upload !== undefined) return this.send(chunk);
    // Copied: the caller may reuse its buffer once the write is acknowledged.
    this.held.push(Buffer.from(chunk));
    this.heldBytes += chunk.length;
    if (this.heldBytes < this.chunkSize) return;
    await this.startSession();
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const part of held) await this.send(part);
  }

  private async startSession(): Promise<void> {
    const [uri] = await this.target.createResumableUpload({ metadata: { contentType: CONTENT_TYPE } });
    this.sessionUri = uri;
    this.marker = this.bucket.file(privateName(this.file, 'session'));
    await this.marker.save(uri, { resumable: false, contentType: 'text/plain', validation: 'md5' });
    this.throwIfDestroyed();
    const upload = this.target.createWriteStream({
      uri,
      resumable: true,
      chunkSize: this.chunkSize,
      validation: 'md5',
      metadata: { contentType: CONTENT_TYPE },
    });
    // Failures surface through `send` and `finished`; never as an unhandled 'error'.
    upload.on('error', () => undefined);
    this.upload = upload;
  }

  private async send(chunk: Buffer): Promise<void> {
    const upload = this.upload!;
    if (upload.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        upload.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        upload.off('drain', onDrain);
        reject(upload.errored ?? new StorageDriverError(`the upload of ${this.path} closed`, 'gcs'));
      };
      upload.once('drain', onDrain);
      upload.once('close', onClose);
    });
  }

  protected async finish(): Promise<void> {
    const replaces = this.target === this.file && this.inherited !== undefined ? { ifGenerationMatch: this.inherited.generation } : {};
    if (this.upload === undefined) {
      const content = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      if (this.inherited !== undefined && content.length === 0) {
        this.done = true;
        return;
      }
      await this.target.save(content, { resumable: false, contentType: CONTENT_TYPE, validation: 'md5', preconditionOpts: replaces });
    } else {
      this.upload.end();
      await finished(this.upload);
    }
    if (this.target !== this.file) {
      // Only onto the generation this writer continued: a concurrent writer fails one of us.
      await this.bucket.combine([this.file, this.target], this.file, { ifGenerationMatch: this.inherited!.generation });
      await this.target.delete({ ignoreNotFound: true });
    }
    this.done = true;
    if (this.marker !== undefined) await this.marker.delete({ ignoreNotFound: true });
  }

  /** Cancels the session and removes the marker and part of this writer (after a failure, or on cancel). */
  private async dropSession(): Promise<void> {
    if (this.sessionUri !== undefined) await this.sessions.cancel(this.sessionUri);
    if (this.marker !== undefined) await this.marker.delete({ ignoreNotFound: true });
    if (this.target !== this.file) await this.target.delete({ ignoreNotFound: true });
  }
}
