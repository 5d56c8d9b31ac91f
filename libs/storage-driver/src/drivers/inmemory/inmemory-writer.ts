import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StorageDriverError } from '../../errors';
import type { FileWriter } from '../../storage-driver';
import type { MemoryFile, MemoryTree } from './inmemory-tree';

/** Appends each chunk to the file's chunk list as it arrives, visible at the path as the filesystem's is. */
export class InMemoryWriter extends Writable implements FileWriter {
  private state: 'open' | 'committed' | 'cancelled' = 'open';
  private written: number;

  constructor(
    private readonly tree: MemoryTree,
    private readonly file: MemoryFile,
    private readonly path: string,
    private readonly driverName: string,
  ) {
    super();
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

  async commit(): Promise<void> {
    if (this.state === 'cancelled') throw new StorageDriverError(`writer for ${this.path} was cancelled`, this.driverName);
    if (this.state === 'committed') return;
    if (!this.writableEnded) this.end();
    await finished(this);
    this.state = 'committed';
  }

  async cancel(): Promise<void> {
    if (this.state === 'committed') throw new StorageDriverError(`writer for ${this.path} was committed`, this.driverName);
    this.state = 'cancelled';
    if (!this.destroyed) this.destroy();
    try {
      this.tree.remove(this.path, this.file);
    } catch {
      // Already gone (deleted or moved away): nothing of this writer remains at the path.
    }
  }
}
