import type { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError, StorageDriverError, StorageDriverFailure } from '../errors';
import { assertValidPath } from '../path';
import type { FileInfo, FileWriter, StorageDriver } from '../storage-driver';

/** What a call to the driver came to: `not_found` apart, as a missing path is an answer, not a fault. */
export type DriverOutcome = 'ok' | 'not_found' | 'error';

/**
 * Told of every call that reaches the driver, by the action names of the reference's
 * `registry_storage_action_seconds` (`GetContent`, `Stat`, ...; a writer's `Commit` and
 * `Cancel` count as one each, a walk as one), with the path it concerns (a move's
 * destination; `/` for `Ready` and `PurgeOrphans`): how metrics count backend work, and the
 * log finds slow calls, without any driver knowing of them. A reader or writer is timed to its
 * opening, not its bytes. Each call is timed once, here, for every observer.
 */
export type DriverObserver = (driver: string, action: string, outcome: DriverOutcome, seconds: number, path: string) => void;

/**
 * The wrapper every driver is reached through, after Distribution's `base/base.go`:
 * arguments are checked here once, before the driver sees them, so an invalid path never
 * reaches I/O in any driver; and every failure leaves as a `StorageDriverFailure` that
 * names the driver, the unknown ones wrapped as `StorageDriverError` with their cause.
 * Root `/` is accepted exactly where the reference accepts it: stat, list and walk.
 */
export class BaseDriver implements StorageDriver {
  readonly name: string;
  private readonly observe?: DriverObserver;

  constructor(
    private readonly driver: StorageDriver,
    observers: readonly DriverObserver[] = [],
  ) {
    this.name = driver.name;
    // One function however many observers: the call is timed once, for all of them, and told
    // without an arguments array per call (this runs on every storage call).
    this.observe =
      observers.length <= 1
        ? observers[0]
        : (name, action, outcome, seconds, path) => {
            for (const observe of observers) observe(name, action, outcome, seconds, path);
          };
    const purgeOrphans = driver.purgeOrphans?.bind(driver);
    if (purgeOrphans !== undefined) this.purgeOrphans = (olderThan, options) => this.guard('PurgeOrphans', '/', () => purgeOrphans(olderThan, options));
  }

  ready(): Promise<void> {
    return this.guard('Ready', '/', async () => {
      await this.driver.ready?.();
    });
  }

  /** Absent from the wrapper exactly when the driver lacks it, so callers can test for it. */
  readonly purgeOrphans?: StorageDriver['purgeOrphans'];

  getContent(path: string): Promise<Buffer> {
    return this.guard('GetContent', path, () => {
      assertValidPath(path);
      return this.driver.getContent(path);
    });
  }

  putContent(path: string, content: Buffer): Promise<void> {
    return this.guard('PutContent', path, () => {
      assertValidPath(path);
      return this.driver.putContent(path, content);
    });
  }

  reader(path: string, offset = 0): Promise<Readable> {
    return this.guard('Reader', path, () => {
      assertValidPath(path);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(path, offset);
      return this.driver.reader(path, offset);
    });
  }

  writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    return this.guard('Writer', path, async () => {
      assertValidPath(path);
      return this.guardWriter(await this.driver.writer(path, options), path);
    });
  }

  stat(path: string): Promise<FileInfo> {
    return this.guard('Stat', path, () => {
      assertValidPath(path, { allowRoot: true });
      return this.driver.stat(path);
    });
  }

  list(path: string): Promise<string[]> {
    return this.guard('List', path, () => {
      assertValidPath(path, { allowRoot: true });
      return this.driver.list(path);
    });
  }

  move(source: string, dest: string): Promise<void> {
    return this.guard('Move', dest, () => {
      assertValidPath(source);
      assertValidPath(dest);
      return this.driver.move(source, dest);
    });
  }

  delete(path: string): Promise<void> {
    return this.guard('Delete', path, () => {
      assertValidPath(path);
      return this.driver.delete(path);
    });
  }

  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.guard('RedirectURL', path, () => {
      assertValidPath(path);
      return this.driver.redirectUrl(path, method);
    });
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    const startedAt = this.observe && performance.now();
    let outcome: DriverOutcome = 'ok';
    try {
      assertValidPath(path, { allowRoot: true });
      yield* this.driver.walk(path);
    } catch (error) {
      const failure = this.failure(error);
      outcome = outcomeOf(failure);
      throw failure;
    } finally {
      if (startedAt !== undefined) this.observe!(this.name, 'Walk', outcome, (performance.now() - startedAt) / 1000, path);
    }
  }

  private async guard<T>(action: string, path: string, call: () => Promise<T>): Promise<T> {
    if (this.observe === undefined) {
      try {
        return await call();
      } catch (error) {
        throw this.failure(error);
      }
    }
    const startedAt = performance.now();
    try {
      const result = await call();
      this.observe(this.name, action, 'ok', (performance.now() - startedAt) / 1000, path);
      return result;
    } catch (error) {
      const failure = this.failure(error);
      this.observe(this.name, action, outcomeOf(failure), (performance.now() - startedAt) / 1000, path);
      throw failure;
    }
  }

  /**
   * The driver's own writer with `commit` and `cancel` guarded in place: wrapping it in a
   * second stream would add a hop per chunk and hide the writer's `size`.
   */
  private guardWriter(writer: FileWriter, path: string): FileWriter {
    const commit = writer.commit.bind(writer);
    const cancel = writer.cancel.bind(writer);
    Object.assign(writer, {
      commit: () => this.guard('Commit', path, commit),
      cancel: () => this.guard('Cancel', path, cancel),
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

function outcomeOf(failure: StorageDriverFailure): DriverOutcome {
  return failure instanceof PathNotFoundError ? 'not_found' : 'error';
}
