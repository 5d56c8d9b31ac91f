import type { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../storage-driver';

/**
 * A counting semaphore: at most `limit` calls run at once, the rest wait in arrival order.
 * After Distribution's `base/regulator.go`, which keeps the filesystem driver from
 * exhausting the OS threads (`maxthreads`); here it bounds open file descriptors and
 * backend connections the same way.
 */
export class Regulator {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`regulator limit must be a positive integer, got ${limit}`);
  }

  /** Calls in flight now; for tests and metrics. */
  get inFlight(): number {
    return this.running;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    // A free slot is taken at once, without a wait: most calls find one, and a scan of the
    // storage makes a call per file.
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await call();
    } finally {
      this.exit();
    }
  }

  private exit(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next caller, so `running` stays the same.
    if (next) next();
    else this.running--;
  }
}

/**
 * A driver whose backend calls pass through a `Regulator`. Streams count only while they
 * are being opened, as in the reference: a slow client reading a blob must not hold a slot.
 * A walk takes a slot per step, not for its whole length, because the caller may call the
 * driver between steps and would otherwise deadlock against itself.
 */
export class RegulatedDriver implements StorageDriver {
  readonly name: string;
  private readonly regulator: Regulator;

  constructor(
    private readonly driver: StorageDriver,
    limit: number,
  ) {
    this.name = driver.name;
    this.regulator = new Regulator(limit);
    // Not through the regulator: one purge is one sequential walk, and a slot held for its
    // whole length would stall every request behind it.
    const purgeOrphans = driver.purgeOrphans?.bind(driver);
    if (purgeOrphans !== undefined) this.purgeOrphans = purgeOrphans;
  }

  /** Absent exactly when the driver lacks it, as on `BaseDriver`. */
  readonly purgeOrphans?: StorageDriver['purgeOrphans'];

  getContent(path: string): Promise<Buffer> {
    return this.regulator.run(() => this.driver.getContent(path));
  }

  putContent(path: string, content: Buffer): Promise<void> {
    return this.regulator.run(() => this.driver.putContent(path, content));
  }

  reader(path: string, offset?: number): Promise<Readable> {
    return this.regulator.run(() => this.driver.reader(path, offset));
  }

  writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    return this.regulator.run(() => this.driver.writer(path, options));
  }

  stat(path: string): Promise<FileInfo> {
    return this.regulator.run(() => this.driver.stat(path));
  }

  list(path: string): Promise<string[]> {
    return this.regulator.run(() => this.driver.list(path));
  }

  move(source: string, dest: string): Promise<void> {
    return this.regulator.run(() => this.driver.move(source, dest));
  }

  delete(path: string): Promise<void> {
    return this.regulator.run(() => this.driver.delete(path));
  }

  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.regulator.run(() => this.driver.redirectUrl(path, method));
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    const steps = this.driver.walk(path);
    try {
      for (;;) {
        const step = await this.regulator.run(() => steps.next());
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await steps.return(undefined);
    }
  }
}
