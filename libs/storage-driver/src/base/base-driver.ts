import type { Readable } from 'node:stream';
import { InvalidOffsetError, StorageDriverError, StorageDriverFailure } from '../errors';
import { assertValidPath } from '../path';
import type { FileInfo, FileWriter, StorageDriver } from '../storage-driver';

/**
 * The wrapper every driver is reached through, after Distribution's `base/base.go`:
 * arguments are checked here once, before the driver sees them, so an invalid path never
 * reaches I/O in any driver; and every failure leaves as a `StorageDriverFailure` that
 * names the driver, the unknown ones wrapped as `StorageDriverError` with their cause.
 * Root `/` is accepted exactly where the reference accepts it: stat, list and walk.
 */
export class BaseDriver implements StorageDriver {
  readonly name: string;

  constructor(private readonly driver: StorageDriver) {
    this.name = driver.name;
    const purgeOrphans = driver.purgeOrphans?.bind(driver);
    if (purgeOrphans !== undefined) this.purgeOrphans = (olderThan, options) => this.guard(() => purgeOrphans(olderThan, options));
  }

  ready(): Promise<void> {
    return this.guard(async () => {
      await this.driver.ready?.();
    });
  }

  /** Absent from the wrapper exactly when the driver lacks it, so callers can test for it. */
  readonly purgeOrphans?: StorageDriver['purgeOrphans'];

  getContent(path: string): Promise<Buffer> {
    return this.guard(() => {
      assertValidPath(path);
      return this.driver.getContent(path);
    });
  }

  putContent(path: string, content: Buffer): Promise<void> {
    return this.guard(() => {
      assertValidPath(path);
      return this.driver.putContent(path, content);
    });
  }

  reader(path: string, offset = 0): Promise<Readable> {
    return this.guard(() => {
      assertValidPath(path);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(path, offset);
      return this.driver.reader(path, offset);
    });
  }

  writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    return this.guard(async () => {
      assertValidPath(path);
      return this.guardWriter(await this.driver.writer(path, options));
    });
  }

  stat(path: string): Promise<FileInfo> {
    return this.guard(() => {
      assertValidPath(path, { allowRoot: true });
      return this.driver.stat(path);
    });
  }

  list(path: string): Promise<string[]> {
    return this.guard(() => {
      assertValidPath(path, { allowRoot: true });
      return this.driver.list(path);
    });
  }

  move(source: string, dest: string): Promise<void> {
    return this.guard(() => {
      assertValidPath(source);
      assertValidPath(dest);
      return this.driver.move(source, dest);
    });
  }

  delete(path: string): Promise<void> {
    return this.guard(() => {
      assertValidPath(path);
      return this.driver.delete(path);
    });
  }

  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.guard(() => {
      assertValidPath(path);
      return this.driver.redirectUrl(path, method);
    });
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    try {
      assertValidPath(path, { allowRoot: true });
      yield* this.driver.walk(path);
    } catch (error) {
      throw this.failure(error);
    }
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * The driver's own writer with `commit` and `cancel` guarded in place: wrapping it in a
   * second stream would add a hop per chunk and hide the writer's `size`.
   */
  private guardWriter(writer: FileWriter): FileWriter {
    const commit = writer.commit.bind(writer);
    const cancel = writer.cancel.bind(writer);
    Object.assign(writer, {
      commit: () => this.guard(commit),
      cancel: () => this.guard(cancel),
    });
    return writer;
  }

  private failure(error: unknown): StorageDriverFailure {
    if (error instanceof StorageDriverFailure) {
      if (!error.driverName) error.driverName = this.name;
      return error;
    }
    const message = error instanceof Error ? error.message : String(error);
    return new StorageDriverError(message, this.name, error);
  }
}
