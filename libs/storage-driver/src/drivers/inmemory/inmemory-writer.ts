import { CommittableWriter } from '../../committable-writer';
import type { MemoryFile, MemoryTree } from './inmemory-tree';

/** Appends each chunk to the file's chunk list as it arrives, visible at the path as the filesystem's is. */
export class InMemoryWriter extends CommittableWriter {
  private written: number;

  constructor(
    private readonly tree: MemoryTree,
    private readonly file: MemoryFile,
    path: string,
    driverName: string,
  ) {
    super(path, driverName);
    this.written = file.size;
  }

  get size(): number {
    return this.written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A copy of the chunk alone: the caller may reuse its buffer once the write is acknowledged.
    this.file.append(Buffer.from(chunk));
    this.written += chunk.length;
    callback();
  }

  protected async discard(): Promise<void> {
    try {
      this.tree.remove(this.path, this.file);
    } catch {
      // Already gone (deleted or moved away): nothing of this writer remains at the path.
    }
  }
}
