import { CommittableWriter } from './committable-writer';
import { StorageDriverError, StorageDriverFailure } from './errors';

/** Bytes the stream holds while an upload step is in flight. */
const STREAM_BUFFER_BYTES = 1024 * 1024;

/**
 * The stream side of a writer that uploads to a remote store (azure, gcs, s3/oss, swift), once:
 * each chunk is handed to `append` and the end to `finish`, one at a time as Writable calls
 * them; a failure reaches the caller as the driver's error, and `_destroy` waits for what
 * `settle` says must settle first (by default the step in flight), so that nothing still
 * uploads when cancel or cleanup removes what was written.
 */
export abstract class UploadingWriter extends CommittableWriter {
  /** The `append` or `finish` in flight. */
  protected working: Promise<void> = Promise.resolve();

  constructor(path: string, driverName: string) {
    super(path, driverName, { highWaterMark: STREAM_BUFFER_BYTES });
  }

  /** Takes one chunk; the stream sends the next only when this settles. */
  protected abstract append(chunk: Buffer): Promise<void>;

  /** Uploads what is left and makes the file whole: the stream's end. */
  protected abstract finish(): Promise<void>;

  /** What must settle before the stream counts as destroyed; its failure is ignored. */
  protected async settle(_error: Error | null): Promise<void> {
    await this.working.catch(() => undefined);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.run(this.append(chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.run(this.finish(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.settle(error).then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Destroyed while a step waited: nothing new may start after `_destroy` looked. */
  protected throwIfDestroyed(): void {
    if (this.destroyed) throw new StorageDriverError(`writer for ${this.path} was destroyed`, this.driverName);
  }

  /**
   * Every failure of the writer itself is the store's (a refusal, a cut connection): callers
   * tell it from a failure of the stream piped in (the client went away) by its class.
   */
  protected failure(error: unknown): Error {
    if (error instanceof StorageDriverFailure) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StorageDriverError(`writing ${this.path}: ${message}`, this.driverName, error);
  }

  private run(work: Promise<void>, callback: (error?: Error | null) => void): void {
    this.working = work;
    work.then(
      () => callback(),
      (error: unknown) => callback(this.failure(error)),
    );
  }
}
