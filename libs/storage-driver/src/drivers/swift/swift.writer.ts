import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { StorageDriverError } from '../../errors';
import { UploadingWriter } from '../../uploading-writer';
import { type SwiftClient, SwiftStatusError } from './swift.client';
import type { HttpResponse } from './swift.http';
import { segmentName } from './swift.layout';
import { CONTENT_TYPE, type LargeObjects, type Segment } from './swift.large-object';

export interface WriterPlan {
  /** The driver path, for messages. */
  path: string;
  /** The object that becomes the file's manifest. */
  objectName: string;
  /** Segments of earlier writers this one continues (append); they stay first, in order. */
  inherited: Segment[];
  /** Where this writer's segments go, and the number of its first one. */
  folder: string;
  firstNumber: number;
  /**
   * Segments of the large object this writer replaces: deleted once the new manifest is
   * written. Undefined when the path was not read at open (a new file is the usual case):
   * the manifest is then written only where nothing is, and on refusal the object there is
   * read and replaced.
   */
  replaced: Segment[] | undefined;
  chunkSize: number;
}

/**
 * Streams a file into Swift as numbered segments of `chunkSize` bytes, each sent while its
 * bytes arrive (one segment in flight, none held whole), then writes a manifest naming
 * them all. Ending the stream without commit writes the manifest too, so that a writer
 * opened later with `append` (in any process) reads the segment list from it and carries
 * on; `commit` is "end, and wait until the manifest is written".
 */
export class SwiftWriter extends UploadingWriter {
  private readonly segments: Segment[];
  private current: SegmentUpload | undefined;
  private nextNumber: number;
  private written: number;
  /** Segment names this writer created, for cancel and for cleanup after a failure. */
  private readonly created: string[] = [];
  /**
   * A manifest naming {@link segments} was sent, so it may be stored even when its PUT failed
   * (the answer lost with the connection): those segments are never deleted by this writer.
   * Left orphaned if it was not stored, they are the orphan purge's (`purgeOrphans`).
   */
  private manifestSent = false;

  constructor(
    private readonly client: SwiftClient,
    private readonly objects: LargeObjects,
    private readonly plan: WriterPlan,
  ) {
    super(plan.path, 'swift');
    this.segments = [...plan.inherited];
    this.nextNumber = plan.firstNumber;
    this.written = plan.inherited.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  get size(): number {
    return this.written;
  }

  protected override async settle(error: Error | null): Promise<void> {
    // The aborted upload's failure is the outcome asked for; awaiting it (and the write it
    // belongs to) means no segment PUT is still running when cancel or cleanup deletes.
    const aborted = this.current?.abort(error ?? new Error('writer destroyed')) ?? Promise.resolve();
    this.current = undefined;
    await Promise.all([aborted, this.working.catch(() => undefined)]);
    // A failed or abandoned writer would leave segments no manifest names: nobody could find them.
    // A cancelled one is removed whole by `discard`.
    if (this.state !== 'cancelled') await this.removeUnrecorded();
  }

  protected async discard(): Promise<void> {
    // Cancelled content leaves nothing at the path: the manifest, and every segment, earlier writers' too.
    await this.objects.deleteOne(this.plan.objectName);
    const names = new Set([...this.segments.map((segment) => segment.name), ...this.created]);
    await this.objects.deleteObjects([...names]);
  }

  protected async append(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      this.throwIfDestroyed();
      this.current ??= this.startSegment();
      const part = rest.subarray(0, this.plan.chunkSize - this.current.bytes);
      rest = rest.subarray(part.length);
      await this.current.write(part);
      this.written += part.length;
      if (this.current.bytes >= this.plan.chunkSize) await this.finishSegment();
    }
  }

  private startSegment(): SegmentUpload {
    const name = segmentName(this.plan.folder, this.nextNumber++);
    this.created.push(name);
    return new SegmentUpload(this.client, name);
  }

  private async finishSegment(): Promise<void> {
    const upload = this.current;
    if (upload === undefined) return;
    this.current = undefined;
    this.segments.push(await upload.finish());
  }

  protected async finish(): Promise<void> {
    await this.finishSegment();
    this.throwIfDestroyed();
    let replaced = this.plan.replaced;
    this.manifestSent = true;
    let outcome = replaced === undefined ? await this.objects.writeManifest(this.plan.objectName, this.segments, { ifAbsent: true }) : undefined;
    if (outcome === 'exists') {
      const stored = await this.objects.head(this.plan.objectName);
      replaced = await this.objects.replacedSegments(this.plan.objectName, stored);
      this.throwIfDestroyed();
      outcome = undefined;
    }
    outcome ??= await this.objects.writeManifest(this.plan.objectName, this.segments);
    if (outcome === 'superseded') {
      // A concurrent writer of the path won: its manifest stays with its segments, and this
      // one's are named by nothing. What it replaced is the winner's to delete, never ours.
      await this.objects.deleteObjects(this.created);
      return;
    }
    const kept = new Set(this.segments.map((segment) => segment.name));
    await this.objects.deleteObjects((replaced ?? []).map((segment) => segment.name).filter((name) => !kept.has(name)));
  }

  private async removeUnrecorded(): Promise<void> {
    const recorded = new Set(this.manifestSent ? this.segments.map((segment) => segment.name) : []);
    await this.objects.deleteObjects(this.created.filter((name) => !recorded.has(name)));
  }
}

/**
 * One segment PUT whose body is written as it arrives (chunked transfer encoding). Its MD5
 * is computed on the way and must equal the ETag Swift stored.
 */
class SegmentUpload {
  bytes = 0;
  private readonly md5 = createHash('md5');
  private readonly body = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly response: Promise<HttpResponse>;
  /** Rejects as soon as Swift answers before the body is complete (a refusal). */
  private readonly earlyAnswer: Promise<never>;

  constructor(
    client: SwiftClient,
    readonly name: string,
  ) {
    this.response = client.object('PUT', name, { body: this.body, headers: { 'content-type': CONTENT_TYPE }, idempotent: false });
    this.earlyAnswer = this.response.then(
      async (response) => {
        await response.body.dump();
        throw new SwiftStatusError(response.status, `PUT segment ${name}`);
      },
      (error: unknown) => {
        throw error;
      },
    );
    // Observed by write/finish; never an unhandled rejection when the writer is abandoned.
    this.earlyAnswer.catch(() => undefined);
    // An abort before the request took the body has no other listener: undici, once it has
    // the body, fails the request with the error (the response promise), which `abort` awaits.
    this.body.on('error', () => undefined);
  }

  async write(part: Buffer): Promise<void> {
    this.md5.update(part);
    this.bytes += part.length;
    if (this.body.write(part)) return;
    let onDrain: (() => void) | undefined;
    try {
      await Promise.race([new Promise<void>((resolve) => this.body.once('drain', (onDrain = resolve))), this.earlyAnswer]);
    } finally {
      if (onDrain) this.body.off('drain', onDrain);
    }
  }

  async finish(): Promise<Segment> {
    this.body.end();
    const response = await this.response;
    await response.body.dump();
    if (response.status !== 201) throw new SwiftStatusError(response.status, `PUT segment ${this.name}`);
    const etag = (response.headers.etag ?? '').replace(/"/g, '');
    const md5 = this.md5.digest('hex');
    if (etag !== md5) {
      throw new StorageDriverError(`segment ${this.name}: Swift stored ETag ${etag}, the bytes sent have MD5 ${md5}`, 'swift');
    }
    return { name: this.name, bytes: this.bytes, etag };
  }

  /** Cuts the upload; settles once the request has (it fails, or Swift answered first). */
  async abort(error: Error): Promise<void> {
    this.body.destroy(error);
    try {
      await (await this.response).body.dump();
    } catch {
      // The abort's own failure: what was asked for.
    }
  }
}
