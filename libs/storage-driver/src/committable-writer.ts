import { Writable, type WritableOptions } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StorageDriverError } from './errors';
import type { FileWriter } from './storage-driver';

/**
 * The commit/cancel rules every driver's writer keeps, in one place: a second commit is a
 * no-op, commit after cancel and cancel after commit are errors, and cancel destroys the
 * stream before the driver removes what was written.
 */
export abstract class CommittableWriter extends Writable implements FileWriter {
  protected state: 'open' | 'committed' | 'cancelled' = 'open';

  constructor(
    protected readonly path: string,
    protected readonly driverName: string,
    options?: WritableOptions,
  ) {
    super(options);
  }

  abstract get size(): number;

  /** Removes everything written to the path, earlier writers' content included. */
  protected abstract discard(): Promise<void>;

  /** Ends the stream if it is open and waits until the content is final. */
  protected async finalize(): Promise<void> {
    if (!this.writableEnded) this.end();
    await finished(this);
  }

  async commit(): Promise<void> {
    if (this.state === 'cancelled') throw new StorageDriverError(`writer for ${this.path} was cancelled`, this.driverName);
    if (this.state === 'committed') return;
    await this.finalize();
    this.state = 'committed';
  }

  async cancel(): Promise<void> {
    if (this.state === 'committed') throw new StorageDriverError(`writer for ${this.path} was committed`, this.driverName);
    this.state = 'cancelled';
    if (!this.destroyed) this.destroy();
    // Wait for `_destroy` (descriptors closed, uploads aborted) before removing the content.
    await finished(this).catch(() => undefined);
    await this.discard();
  }
}
