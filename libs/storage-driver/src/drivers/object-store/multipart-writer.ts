import { CommittableWriter } from '../../committable-writer';
import { StorageDriverError, StorageDriverFailure } from '../../errors';
import { S3_MIN_PART } from '../../params';
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
 * gathered into parts of `chunkSize` (one part uploading while the next fills, so at most
 * two parts in memory), the upload is left open when the stream ends without commit, and
 * completed by `commit`. The upload itself is the state: a writer opened with `append` in
 * any process finds it with ListMultipartUploads and ListParts.
 *
 * The stores refuse a part under 5 MiB (S3; OSS under 100 KiB) unless it is the last. A writer that ended with a short last
 * part is continued the reference's way: the upload is completed into the object, and the
 * object becomes the start of a new upload (copied as its first part, or read back into the
 * buffer when it is itself under 5 MiB).
 */
export class MultipartWriter extends CommittableWriter {
  private uploadId: string | undefined;
  private readonly parts: UploadedPart[];
  private base: { size: number } | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written: number;
  private inFlight: Promise<void> | undefined;
  private prepared = false;
  private committing = false;
  private done = false;
  private working: Promise<void> = Promise.resolve();

  constructor(
    private readonly objects: ObjectStore,
    private readonly plan: MultipartWriterPlan,
  ) {
    super(plan.path, plan.driverName, { highWaterMark: 1024 * 1024 });
    this.uploadId = plan.uploadId;
    this.parts = [...plan.parts];
    this.base = plan.base;
    this.written = this.parts.reduce((sum, part) => sum + part.size, 0) + (this.parts.length === 0 ? (plan.base?.size ?? 0) : 0);
  }

  get size(): number {
    return this.written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.track(this.append(chunk)).then(
      () => callback(),
      (error: unknown) => callback(this.failure(error)),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.track(this.finish()).then(
      () => callback(),
      (error: unknown) => callback(this.failure(error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // No part upload may still run when cancel aborts the upload.
    Promise.all([this.working.catch(() => undefined), this.inFlight?.catch(() => undefined)]).then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Commit completes the upload; marked first so that `_final` of a small file sends one PUT. */
  protected override async finalize(): Promise<void> {
    this.committing = true;
    await super.finalize();
    if (this.done) return;
    if (this.parts.length > 0) {
      await this.objects.completeUpload(this.plan.key, this.requireUpload(), this.parts);
    } else {
      // Nothing was uploaded as a part: the file is the base object, or empty.
      if (this.uploadId !== undefined) await this.objects.abortUpload(this.plan.key, this.uploadId);
      if (this.base === undefined) await this.objects.putObject(this.plan.key, Buffer.alloc(0));
    }
    this.done = true;
  }

  protected async discard(): Promise<void> {
    await abortUploadsOf(this.objects, this.plan.key);
    await this.objects.deleteObject(this.plan.key);
  }

  private track(work: Promise<void>): Promise<void> {
    this.working = work;
    return work;
  }

  private async append(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    await this.prepareToAppend();
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.written += chunk.length;
    while (this.bufferedBytes >= this.plan.chunkSize) {
      const part = this.take(this.plan.chunkSize);
      // One part uploads while the next fills: memory stays at two parts.
      await this.inFlight;
      this.throwIfDestroyed();
      this.inFlight = this.uploadPart(part);
      // Observed when awaited; a failure must not go unhandled meanwhile.
      this.inFlight.catch(() => undefined);
    }
  }

  private async finish(): Promise<void> {
    await this.inFlight;
    this.throwIfDestroyed();
    const rest = this.take(this.bufferedBytes);
    if (this.committing && this.uploadId === undefined && this.parts.length === 0 && this.base === undefined) {
      // A small file written and committed in one go: a single PUT, no multipart upload.
      await this.objects.putObject(this.plan.key, rest);
      this.done = true;
      return;
    }
    if (rest.length > 0) {
      await this.uploadPart(rest);
      return;
    }
    if (this.uploadId === undefined && this.base === undefined && !this.committing) {
      // An empty file ended for a later append: an upload without parts says it exists, and
      // content a non-append writer replaces must not come back as its base.
      this.uploadId = await this.objects.createUpload(this.plan.key);
      if (!this.plan.append) await this.objects.deleteObject(this.plan.key);
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
    }
    if (this.base === undefined) return;
    if (this.base.size < S3_MIN_PART) {
      const content = (await this.objects.getObject(this.plan.key)) ?? Buffer.alloc(0);
      if (content.length > 0) {
        this.buffered.push(content);
        this.bufferedBytes += content.length;
      }
    } else {
      this.uploadId ??= await this.objects.createUpload(this.plan.key);
      this.parts.push(await this.objects.copyPart(this.plan.key, this.uploadId, 1, this.plan.key, this.base.size));
    }
    this.base = undefined;
  }

  private async uploadPart(body: Buffer): Promise<void> {
    this.uploadId ??= await this.objects.createUpload(this.plan.key);
    const number = this.parts.length + 1;
    // Numbered at once, so that the next part, started while this one uploads, takes the next number.
    const slot = { number, etag: '', size: body.length };
    this.parts.push(slot);
    const uploaded = await this.objects.uploadPart(this.plan.key, this.uploadId, number, body);
    slot.etag = uploaded.etag;
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

  private throwIfDestroyed(): void {
    if (this.destroyed) throw new StorageDriverError(`writer for ${this.plan.path} was destroyed`, this.plan.driverName);
  }

  private failure(error: unknown): Error {
    if (error instanceof StorageDriverFailure) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StorageDriverError(`writing ${this.plan.path}: ${message}`, this.plan.driverName, error);
  }
}
