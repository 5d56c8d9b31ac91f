import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileInfo, StorageDriver } from '../src/storage-driver';

export interface DriverSuiteOptions {
  /**
   * The driver keeps every byte in this process by nature (inmemory): the large stream
   * round trip runs at `largeStreamBytes` and its memory bound does not apply.
   */
  holdsContentInMemory?: boolean;
  /** Size of the large stream round trip. Default 256 MiB; for in-memory drivers 32 MiB. */
  largeStreamBytes?: number;
  /** Runs after the whole suite, e.g. to remove a temporary root directory. */
  teardown?: () => Promise<void> | void;
}

/** What the cases share: the driver under test and the current test's private prefix. */
export class SuiteContext {
  private current: StorageDriver | undefined;
  private testPrefix: string | undefined;

  constructor(readonly options: DriverSuiteOptions) {}

  get driver(): StorageDriver {
    if (!this.current) throw new Error('the driver suite has no driver yet (construct failed?)');
    return this.current;
  }

  set driver(driver: StorageDriver) {
    this.current = driver;
  }

  /** `/berth-suite-<random>`: unique per test, so runs against a shared bucket never collide. */
  get prefix(): string {
    if (!this.testPrefix) throw new Error('no test is running');
    return this.testPrefix;
  }

  startTest(): void {
    this.testPrefix = `/berth-suite-${randomBytes(6).toString('hex')}`;
  }

  /** A path under the test's prefix. */
  path(...names: string[]): string {
    return [this.prefix, ...names].join('/');
  }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function collectWalk(walk: AsyncGenerator<FileInfo>): Promise<FileInfo[]> {
  const seen: FileInfo[] = [];
  for await (const info of walk) seen.push(info);
  return seen;
}

/** Writes `parts` through one writer, one `write` each, then commits. */
export async function writeAndCommit(driver: StorageDriver, path: string, parts: Buffer[]): Promise<void> {
  const writer = await driver.writer(path);
  for (const part of parts) await writeChunk(writer, part);
  await writer.commit();
}

/** One `write`, waiting for backpressure to clear. */
export function writeChunk(writer: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    writer.write(chunk, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}

/** Bytes that are not valid UTF-8 anywhere: every byte value, then lone continuation and overlong bytes. */
export function nonUtf8Bytes(): Buffer {
  const all = Buffer.alloc(256);
  for (let value = 0; value < 256; value++) all[value] = value;
  return Buffer.concat([all, Buffer.from([0xff, 0xfe, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x00])]);
}
