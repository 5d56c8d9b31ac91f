import { Readable } from 'node:stream';
import type { RecyclingReadable } from '../../recycled-chunks';
import { closeFile, readAt } from './host-files';

/**
 * A file's bytes from `position` to `end` (its size when opened: blobs never change, and an
 * upload's data grows only under its session's lock), read from an open descriptor, which
 * the stream owns and closes, in chunks of at most `chunkBytes`, into buffers the consumer
 * may hand back with `recycle` (see `RecyclingReadable`). Node's own `fs.ReadStream`
 * allocates a buffer for every read, which a pull pays for in major GCs, and reads once more
 * to find the end.
 */
export class FileReadStream extends Readable implements RecyclingReadable {
  /** Buffers handed back, ready to be filled again. */
  private readonly spare: Buffer[] = [];
  /** The memory of each chunk out with the consumer; weak, so chunks never handed back are collected. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private reading = false;
  /** `_destroy`'s close, waiting for the read in flight: the descriptor must outlive it. */
  private closeAfterRead?: () => void;

  constructor(
    private readonly fd: number,
    private position: number,
    private readonly end: number,
    private readonly chunkBytes: number,
  ) {
    super({ highWaterMark: chunkBytes });
  }

  recycle(chunk: Buffer): void {
    if (this.lent.delete(chunk.buffer)) this.spare.push(Buffer.from(chunk.buffer, 0, chunk.buffer.byteLength));
  }

  override _read(): void {
    const left = this.end - this.position;
    if (left <= 0) {
      this.push(null);
      return;
    }
    const buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(Math.min(this.chunkBytes, left));
    this.reading = true;
    readAt(this.fd, buffer, Math.min(buffer.length, left), this.position).then(
      (bytesRead) => {
        this.reading = false;
        if (this.closeAfterRead) return this.closeAfterRead();
        if (bytesRead === 0) {
          this.destroy(new Error(`the file ended at ${this.position} bytes, before the ${this.end} it had when opened`));
          return;
        }
        this.position += bytesRead;
        this.lent.add(buffer.buffer);
        this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: unknown) => {
        this.reading = false;
        if (this.closeAfterRead) return this.closeAfterRead();
        this.destroy(error as Error);
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const close = (): void => {
      closeFile(this.fd).then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      );
    };
    if (this.reading) this.closeAfterRead = close;
    else close();
  }
}
