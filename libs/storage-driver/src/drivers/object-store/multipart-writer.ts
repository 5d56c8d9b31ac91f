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
 * gathered into parts of `chunkSize` (one part uploading while the next fills, so at most
 * two parts in memory), and completed into the object when the stream ends. A writer opened
 * with `append` in any process continues the object; one killed mid-write leaves its open
 * upload, which the next writer finds with ListMultipartUploads and ListParts.
 *
 * The stores refuse a part under 5 MiB (S3; OSS under 100 KiB) unless it is the last, so an
 * object is continued the reference's way: it becomes the start of a new upload, copied as
 * its first part (UploadPartCopy), or read back into the buffer when it is under 5 MiB.
 */
export class MultipartWriter extends UploadingWriter {
  private uploadId: string | undefined;
  private readonly parts: UploadedPart[];
  private base: { size: number } | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written: number;
  private inFlight: Promise<void> | undefined;
  private prepared = false;

  constructor(
    private readonly objects: ObjectStore,
    private readonly plan: MultipartWriterPlan,
  ) {
    super(plan.path, plan.driverName);
    this.uploadId = plan.uploadId;
    this.parts = [...plan.parts];
    this.base = plan.base;
    this.written = this.parts.reduce((sum, part) => sum + part.size, 0) + (this.parts.length === 0 ? (plan.base?.size ?? 0) : 0);
  }

  get size(): number {
    return this.written;
  }

  protected override async settle(): Promise<void> {
    // No part upload may still run when cancel aborts the upload.
    await Promise.all([this.working.catch(() => undefined), this.inFlight?.catch(() => undefined)]);
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

  /**
   * Every end completes the file: berth's upload service reads an unfinished upload's data
   * back (to rebuild its running hash on another instance), and S3 serves no byte of an open
   * multipart upload. A file that fits in one part is a single PUT.
   */
  protected async finish(): Promise<void> {
    await this.inFlight;
    this.throwIfDestroyed();
    const rest = this.take(this.bufferedBytes);
    if (this.uploadId === undefined && this.parts.length === 0) {
      // All of it is in the buffer (a short base was read into it), or nothing changed the base.
      if (rest.length > 0 || this.base === undefined) await this.objects.putObject(this.plan.key, rest);
      return;
    }
    if (rest.length > 0) await this.uploadPart(rest);
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
    if (this.base.size === 0) {
      // An empty file (a new upload's data): nothing to carry over.
    } else if (this.base.size < S3_MIN_PART) {
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
}
