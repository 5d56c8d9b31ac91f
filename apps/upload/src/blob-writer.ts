import { createHash, type Hash } from 'node:crypto';
import { PassThrough, type Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeQuietly } from '@berth/registry-storage';
import { type FileWriter, recycleChunk, type StorageDriver, StorageDriverError, StorageDriverFailure } from '@berth/storage-driver';

/** The SHA-256 of an upload's first `offset` bytes, not yet finalized. */
interface RunningHash {
  offset: number;
  hash: Hash;
}

/** What one chunk did: where the data ends now, and how many bytes this chunk added. */
export interface ChunkWritten {
  size: number;
  received: number;
}

/** The body failed (the client went away, the connection broke) before it ended. */
export class ChunkBodyError extends Error {
  constructor(
    readonly received: number,
    cause: unknown,
  ) {
    super(`the chunk's body failed after ${received} bytes: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'ChunkBodyError';
  }
}

/**
 * Streams upload bytes into an upload's data file and keeps the running SHA-256 beside them.
 *
 * Node's native hash cannot be saved and restored (DESIGN.md: hash-wasm could, at a sixth of
 * the speed), so the running hash lives in this process, keyed by upload id. It is a cache:
 * when it is missing or stale (a restart, a chunk taken by another instance, a failed
 * chunk) it is rebuilt by reading the data file back (through the writer where the driver
 * cannot read an unfinished file: `readWritten`), so every instance answers correctly
 * and the common path (one instance takes a session's chunks) hashes each byte once.
 */
export class BlobWriter {
  /** In order of last use: the oldest go first once there are too many (abandoned uploads). */
  private readonly running = new Map<string, RunningHash>();

  constructor(
    private readonly driver: StorageDriver,
    /** Running hashes kept at most; an upload whose hash was dropped rebuilds it from storage. */
    private readonly maxRunning = 10_000,
  ) {}

  /** Creates the empty data file of a new upload. */
  async create(id: string, dataPath: string): Promise<void> {
    const writer = await this.driver.writer(dataPath);
    await pipeline(emptyStream(), writer);
    this.remember(id, { offset: 0, hash: createHash('sha256') });
  }

  /**
   * Appends `body` to the data file, which holds `offset` bytes, hashing on the way. With
   * `commit` the file is made final afterwards (the last chunk of an upload).
   *
   * A body that fails midway leaves the bytes that reached storage in place: they are a
   * prefix of what the client sent, so the session stays valid at the data file's new size,
   * which a status request reports (the spec's way to resume after a broken PATCH).
   *
   * `opened` is a writer the caller opened with `append` (its `size` told the offset); it is
   * closed here whatever happens.
   */
  async append(
    id: string,
    dataPath: string,
    offset: number,
    body: Readable | undefined,
    commit = false,
    opened?: FileWriter,
  ): Promise<ChunkWritten> {
    const writer = opened ?? (await this.driver.writer(dataPath, { append: true }));
    let hash: Hash;
    try {
      hash = await this.hashAt(id, dataPath, offset, writer);
    } catch (error) {
      await closeQuietly(writer);
      throw error;
    }
    // Whatever happens below, the cached hash may disagree with storage until it succeeds.
    this.running.delete(id);
    let received = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        hash.update(chunk);
        received += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      // Told to commit before the stream ends, a writer can make the file final at once
      // (an object store completes its upload instead of leaving it open first).
      await pipeline(body ?? emptyStream(), hashing, writer, { end: !commit });
      if (commit) await writer.commit();
    } catch (error) {
      await closeQuietly(writer);
      if (error instanceof StorageDriverFailure) throw error;
      throw new ChunkBodyError(received, error);
    }
    this.remember(id, { offset: writer.size, hash });
    return { size: writer.size, received };
  }

  /** The hex SHA-256 of the data file's first `size` bytes (all of it), from the running hash. */
  async sha256(id: string, dataPath: string, size: number): Promise<string> {
    const hash = await this.hashAt(id, dataPath, size);
    this.remember(id, { offset: size, hash });
    return hash.copy().digest('hex');
  }

  /** The hex digest of the whole data file with `algorithm`, read back from storage. */
  async digestOf(dataPath: string, algorithm: string): Promise<string> {
    const hash = createHash(algorithm);
    const reader = await this.driver.reader(dataPath);
    await pipeline(reader, hashSink(hash, reader));
    return hash.digest('hex');
  }

  /** Drops the running hash of a session that ended (finished, cancelled, failed). */
  forget(id: string): void {
    this.running.delete(id);
  }

  /**
   * The running hash at `offset`, from the cache or by hashing what storage holds; `writer`,
   * the data file opened for appending, reads it when its driver cannot read unfinished files.
   */
  private async hashAt(id: string, dataPath: string, offset: number, writer?: FileWriter): Promise<Hash> {
    const cached = this.running.get(id);
    if (cached && cached.offset === offset) return cached.hash;
    // A cached hash behind the data (another instance took chunks) needs only the gap read.
    const resumeFrom = cached && cached.offset < offset ? cached : { offset: 0, hash: createHash('sha256') };
    this.running.delete(id);
    const hash = resumeFrom.hash;
    const reader = writer?.readWritten ? await writer.readWritten(resumeFrom.offset) : await this.driver.reader(dataPath, resumeFrom.offset);
    let read = resumeFrom.offset;
    const reading = pipeline(
      reader,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          // Bytes beyond `offset` arrived after the caller looked; they are not this hash's.
          const wanted = Math.min(chunk.length, offset - read);
          if (wanted > 0) hash.update(wanted === chunk.length ? chunk : chunk.subarray(0, wanted));
          read += chunk.length;
          recycleChunk(reader, chunk);
          callback();
        },
      }),
    );
    // A body cut mid-read (the backend went away) is the backend's failure, answered 503 as the
    // driver's own errors are, not an internal error: the client sends the chunk again.
    await reading.catch((error: unknown) => {
      if (error instanceof StorageDriverFailure) throw error;
      throw new StorageDriverError(`reading ${dataPath} back: ${(error as Error).message}`, this.driver.name, error);
    });
    if (read < offset) throw new Error(`upload data ${dataPath} holds ${read} bytes, expected ${offset}`);
    return hash;
  }

  private remember(id: string, running: RunningHash): void {
    this.running.delete(id);
    this.running.set(id, running);
    for (const oldest of this.running.keys()) {
      if (this.running.size <= this.maxRunning) break;
      this.running.delete(oldest);
    }
  }
}

/** Hashes what `reader` reads, handing each chunk back to it once hashed. */
function hashSink(hash: Hash, reader: Readable): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      recycleChunk(reader, chunk);
      callback();
    },
  });
}

function emptyStream(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}
