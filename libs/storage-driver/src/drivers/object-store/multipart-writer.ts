import { Readable } from 'node:stream';
import { StorageDriverError } from '../../errors';
import { S3_MIN_PART } from '../../params';
import { UploadingWriter } from '../../uploading-writer';
import { abortUploadsOf, type ObjectStore, type UploadedPart } from './object-store';

/**
 * What a writer continues: the multipart upload of an earlier writer and its parts, or a
 * complete object at the key (`base`) when there is no upload or it has no part yet.
 */
export interface MultipartWriterPlan {
  driverName: string;
  path: string;
  key: string;
  append: boolean;
  uploadId: string | undefined;
  parts: UploadedPart[];
  base: { size: number } | undefined;
  chunkSize: number;
}

/**
 * A file written as a multipart upload (S3's, OSS's), after the reference's s3-aws writer: bytes are
 * gathered into parts of `chunkSize` (one part uploading while the next fills; at the end the
 * last one beside it), and completed
 * into the object on `commit`. A writer ended without commit leaves its upload open, as the
 * reference's does, so that the next writer (opened with `append` in any process, found with
 * ListMultipartUploads and ListParts) adds parts to it instead of copying what is there: a
 * chunked upload then costs each byte one upload, however many PATCHes carry it.
 *
 * The stores refuse a part under 5 MiB (S3; OSS under 100 KiB) unless it is the last. A part is
 * cut only when what follows it is at least that much, so a writer's last part is short only
 * when all it wrote is: an upload left with a short last part is continued the reference's way,
 * completed into an object that becomes the start of a new upload, copied as its first part
 * (UploadPartCopy) or read back into the buffer when it is under 5 MiB. A file that fits in one
 * short part is a single PUT, with no upload.
 *
 * While an upload is open it holds the file: the object at the key, if any, is an older start
 * of it and is deleted when the writer leaves the upload open (`stat` then finds the upload).
 * S3 serves no byte of an open upload: `readWritten` completes it first.
 */
export class MultipartWriter extends UploadingWriter {
  private uploadId: string | undefined;
  private readonly parts: UploadedPart[];
  private base: { size: number } | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written: number;
  private inFlight: Promise<void> | undefined;
  private creatingUpload: Promise<string> | undefined;
  private prepared = false;
  /** `commit` was asked before the stream ended: `_final` completes the upload at once. */
  private completing = false;
  /** The upload, if one is left open, supersedes an object at the key (see the class comment). */
  private objectAtKey: boolean;

  constructor(
    private readonly objects: ObjectStore,
    private readonly plan: MultipartWriterPlan,
  ) {
    super(plan.path, plan.driverName);
    this.uploadId = plan.uploadId;
    this.parts = [...plan.parts];
    this.base = plan.base;
    this.objectAtKey = plan.base !== undefined;
    this.written = this.parts.reduce((sum, part) => sum + part.size, 0) + (this.parts.length === 0 ? (plan.base?.size ?? 0) : 0);
  }

  get size(): number {
    return this.written;
  }

  protected override async settle(): Promise<void> {
    // No part upload may still run when cancel aborts the upload.
    await Promise.all([this.working.catch(() => undefined), this.inFlight?.catch(() => undefined)]);
  }

  override async commit(): Promise<void> {
    this.completing = true;
    await super.commit();
    // Ended before `commit` was asked: `_final` left the upload open.
    if (this.uploadId === undefined) return;
    try {
      await this.objects.completeUpload(this.plan.key, this.uploadId, this.parts);
    } catch (error) {
      throw this.failure(error);
    }
    this.uploadId = undefined;
    this.parts.length = 0;
  }

  /**
   * The file's bytes from `offset`, asked before this writer writes anything (the upload
   * service rebuilding an upload's digest on another instance): S3 serves no byte of an open
   * upload, so it is completed first, and becomes the start of the next (see the class comment).
   */
  async readWritten(offset: number): Promise<Readable> {
    if (this.prepared) throw new StorageDriverError(`readWritten after writing to ${this.plan.path}`, this.plan.driverName);
    try {
      if (this.uploadId !== undefined && this.parts.length > 0) {
        await this.objects.completeUpload(this.plan.key, this.uploadId, this.parts);
        this.uploadId = undefined;
        this.parts.length = 0;
        this.base = { size: this.written };
        this.objectAtKey = true;
      }
      const stream = await this.objects.readObject(this.plan.key, offset);
      if (stream === undefined) throw new StorageDriverError(`${this.plan.path} is gone`, this.plan.driverName);
      return stream === 'unsatisfiable' ? Readable.from([]) : stream;
    } catch (error) {
      throw this.failure(error);
    }
  }

  protected async discard(): Promise<void> {
    await abortUploadsOf(this.objects, this.plan.key);
    await this.objects.deleteObject(this.plan.key);
  }

  protected async append(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    await this.prepareToAppend();
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.written += chunk.length;
    // A part is cut only with a whole part's minimum behind it: no short part but the last.
    while (this.bufferedBytes >= this.plan.chunkSize + S3_MIN_PART) {
      const part = this.take(this.plan.chunkSize);
      // One part uploads while the next fills: memory stays at two parts.
      await this.inFlight;
      this.throwIfDestroyed();
      this.inFlight = this.uploadPart(part);
      // Observed when awaited; a failure must not go unhandled meanwhile.
      this.inFlight.catch(() => undefined);
    }
  }

  /** The stream's end: the file completed when `commit` was asked first, else left open for the next writer. */
  protected finish(): Promise<void> {
    return this.completing ? this.complete() : this.leaveOpen();
  }

  /** Makes the file final: the upload completed, or, when it fits in one short part, a single PUT. */
  private async complete(): Promise<void> {
    const rest = this.take(this.bufferedBytes);
    if (this.uploadId === undefined && this.parts.length === 0) {
      // All of it is in the buffer (a short base was read into it), or nothing changed the base.
      if (rest.length > 0 || this.base === undefined) await this.objects.putObject(this.plan.key, rest);
      return;
    }
    await this.uploadRest(rest);
    this.throwIfDestroyed();
    if (this.parts.length > 0) {
      await this.objects.completeUpload(this.plan.key, this.requireUpload(), this.parts);
    } else {
      await this.objects.abortUpload(this.plan.key, this.requireUpload());
      if (this.base === undefined) await this.objects.putObject(this.plan.key, Buffer.alloc(0));
    }
    this.uploadId = undefined;
    this.parts.length = 0;
  }

  /**
   * Keeps what was written for a later writer: the rest as the upload's last part, the upload
   * left open; or, with no upload and less than a part's minimum in all, one PUT of the object.
   */
  private async leaveOpen(): Promise<void> {
    const rest = this.take(this.bufferedBytes);
    if (this.uploadId === undefined && this.parts.length === 0 && rest.length < S3_MIN_PART) {
      if (rest.length > 0 || this.base === undefined) await this.objects.putObject(this.plan.key, rest);
      return;
    }
    await this.uploadRest(rest);
    this.throwIfDestroyed();
    if (this.objectAtKey && this.parts.length > 0) {
      // The open upload holds the whole file now; a stale start must not answer `stat`.
      await this.objects.deleteObject(this.plan.key);
      this.objectAtKey = false;
    }
  }

  /**
   * Before the first new byte: a short last part cannot stay in the middle, and a base
   * object must become the upload's start (see the class comment).
   */
  private async prepareToAppend(): Promise<void> {
    if (this.prepared) return;
    this.prepared = true;
    const last = this.parts.at(-1);
    if (last !== undefined && last.size < S3_MIN_PART) {
      const size = this.parts.reduce((sum, part) => sum + part.size, 0);
      await this.objects.completeUpload(this.plan.key, this.requireUpload(), this.parts);
      this.uploadId = undefined;
      this.parts.length = 0;
      this.base = { size };
      this.objectAtKey = true;
    }
    if (this.base === undefined) return;
    if (this.base.size === 0) {
      // An empty file (a new upload's data): nothing to carry over.
    } else if (this.base.size < S3_MIN_PART) {
      const content = (await this.objects.getObject(this.plan.key)) ?? Buffer.alloc(0);
      if (content.length > 0) {
        this.buffered.push(content);
        this.bufferedBytes += content.length;
      }
    } else {
      const uploadId = await this.upload();
      this.parts.push(await this.objects.copyPart(this.plan.key, uploadId, 1, this.plan.key, this.base.size));
    }
    this.base = undefined;
  }

  private async uploadPart(body: Buffer): Promise<void> {
    // Numbered at once, so that a part started while another uploads takes the next number.
    const slot = { number: this.parts.length + 1, etag: '', size: body.length };
    this.parts.push(slot);
    const uploaded = await this.objects.uploadPart(this.plan.key, await this.upload(), slot.number, body);
    slot.etag = uploaded.etag;
  }

  /**
   * The rest of the buffer as the last part, uploading beside the part still in flight: a
   * chunk's answer waits for the slower of its last two parts, not for both in turn.
   */
  private async uploadRest(rest: Buffer): Promise<void> {
    const settled = await Promise.allSettled([this.inFlight, rest.length > 0 ? this.uploadPart(rest) : undefined]);
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
  }

  /** The open upload, created once however many parts ask for it at the same time. */
  private upload(): Promise<string> {
    if (this.uploadId !== undefined) return Promise.resolve(this.uploadId);
    this.creatingUpload ??= this.objects.createUpload(this.plan.key).then(
      (uploadId) => {
        this.uploadId = uploadId;
        this.creatingUpload = undefined;
        return uploadId;
      },
      (error: unknown) => {
        this.creatingUpload = undefined;
        throw error;
      },
    );
    return this.creatingUpload;
  }

  private take(bytes: number): Buffer {
    const whole = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    const part = whole.subarray(0, bytes);
    const rest = whole.subarray(bytes);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    return part;
  }

  private requireUpload(): string {
    if (this.uploadId === undefined) throw new StorageDriverError(`no multipart upload for ${this.plan.path}`, this.plan.driverName);
    return this.uploadId;
  }
}
