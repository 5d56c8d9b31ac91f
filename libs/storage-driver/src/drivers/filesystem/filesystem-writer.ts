import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { CommittableWriter } from '../../committable-writer';
import { asDriverFailure } from './filesystem-errors';
import { closeFile, openFile, syncFile, writeBuffersAt } from './host-files';

/**
 * Bytes the stream holds while a write is in flight: the chunks that arrive meanwhile (64 KiB
 * each from a socket) go to disk together in the next `writev`, one thread-pool round trip
 * instead of one per chunk, while memory per writer stays bounded.
 */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * Writes straight into the file at its final path, so that a writer opened later with
 * `append` (in this process or another one sharing the directory) continues where this one
 * ended. Ending the stream closes the file; `commit` also syncs it to disk, as the reference's
 * `fileWriter.Commit` does (it syncs nothing before): a chunk of an upload that is not yet
 * committed may be lost in a crash, and the client then resumes from the size the upload's
 * status reports. `cancel` removes the file.
 */
export class FilesystemWriter extends CommittableWriter {
  private written: number;
  private handleClosed = false;
  private finalStarted = false;
  private syncOnFinal = false;
  /** The write in flight: the descriptor is closed only after it settles. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly fd: number,
    private readonly hostPath: string,
    path: string,
    driverName: string,
    startSize: number,
  ) {
    super(path, driverName, { highWaterMark: WRITE_BUFFER_BYTES });
    this.written = startSize;
  }

  get size(): number {
    return this.written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.track(this.writeAll([chunk])).then(() => callback(), (error: unknown) => callback(this.failure(error)));
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.track(this.writeAll(chunks.map(({ chunk }) => chunk))).then(() => callback(), (error: unknown) => callback(this.failure(error)));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finalStarted = true;
    (this.syncOnFinal ? syncFile(this.fd) : Promise.resolve())
      .then(() => this.close())
      .then(() => callback(), (error: unknown) => callback(this.failure(error)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A stream may be destroyed while a write is in flight (a client gone mid-chunk). Closing
    // then would free the descriptor number for the next file opened, which the late write
    // would then land in.
    this.writing
      .catch(() => undefined)
      .then(() => this.close())
      .then(() => callback(error), (closeError: unknown) => callback(error ?? this.failure(closeError)));
  }

  protected override async finalize(): Promise<void> {
    if (this.finalStarted) {
      // Ended (and closed) before `commit`, as at the end of a pipeline: sync through a new descriptor.
      await finished(this);
      await this.syncClosedFile();
    } else {
      this.syncOnFinal = true;
      await super.finalize();
    }
  }

  protected async discard(): Promise<void> {
    await rm(this.hostPath, { force: true });
  }

  private async writeAll(chunks: Buffer[]): Promise<void> {
    let pending = chunks;
    // `writev` may write fewer bytes than asked (a full disk, a signal); continue after them.
    while (pending.length > 0) {
      const bytesWritten = await writeBuffersAt(this.fd, pending, this.written);
      this.written += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
  }

  private track(write: Promise<void>): Promise<void> {
    this.writing = write;
    return write;
  }

  private async close(): Promise<void> {
    if (this.handleClosed) return;
    this.handleClosed = true;
    await closeFile(this.fd);
  }

  private async syncClosedFile(): Promise<void> {
    let fd;
    try {
      fd = await openFile(this.hostPath, 'r');
      await syncFile(fd);
    } catch (error) {
      throw this.failure(error);
    } finally {
      // Synced or failed already; a read-only descriptor's close has nothing left to report.
      if (fd !== undefined) await closeFile(fd).catch(() => undefined);
    }
  }

  private failure(error: unknown): Error {
    return asDriverFailure(error, this.path, this.driverName);
  }
}

function skipBytes(chunks: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}
