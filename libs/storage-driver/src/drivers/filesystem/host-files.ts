import * as fs from 'node:fs';

/**
 * Node's callback file API as promises, for the descriptors behind blob streams. `fs/promises`
 * costs two to three times as much event-loop time per call (its FileHandle and promise-request
 * bookkeeping; measured here 31-49 µs against 17-21 µs for a `stat`), and a stream's FileHandle
 * makes every read of a blob pay it.
 */
function settle<T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/**
 * How long one call on file metadata or a small file may take before the request that asked
 * ends with a backend failure (503). A healthy disk answers in well under a millisecond, a busy
 * one in tens; a hung NFS server, a FUSE mount or a failing disk may never answer (issue 15).
 * The call itself cannot be cancelled: it keeps one of libuv's threads (UV_THREADPOOL_SIZE,
 * runtime-defaults.ts) until the storage answers, and the rest of the process goes on.
 */
export const STALLED_CALL_MS = 10_000;

/** The first read of a small file: links (71 bytes) and most manifests fit in one. */
const FIRST_READ_BYTES = 16 * 1024;

/**
 * The content of a small file (a link, a manifest: `getContent` is for small objects only),
 * on libuv's thread pool so that a read that hangs stalls its request, not the event loop.
 * Each hand-off to the pool and back costs the event loop tens of µs on a busy machine, so this
 * makes two where `fs.readFile` makes four (open, fstat, read, close): the first read's short
 * count is the end of a regular file, and the close is not waited for. Measured on a loaded
 * 2-core machine, a manifest HEAD by tag cost the event loop 190-270 µs against
 * 130-165 µs when these reads ran in place: the price of a stalled disk no longer stopping the
 * process. (Plain callbacks with a single promise measured no better.)
 */
export function readSmallFile(path: string): Promise<Buffer> {
  return withinDeadline(async () => {
    const fd = await openFile(path, 'r');
    try {
      const chunks: Buffer[] = [];
      for (let size = FIRST_READ_BYTES, position = 0; ; position += size, size *= 2) {
        const buffer = Buffer.allocUnsafe(size);
        const read = await readAt(fd, buffer, size, position);
        if (read === size) {
          chunks.push(buffer);
          continue;
        }
        // A copy of the exact size: callers keep manifests (ManifestReader), and the buffer is mostly empty.
        chunks.push(Buffer.from(buffer.subarray(0, read)));
        return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      }
    } finally {
      fs.close(fd, () => undefined);
    }
  });
}

/** `stat` of a path, bounded as `readSmallFile`; `undefined` when nothing is there. */
export function statFile(path: string): Promise<fs.Stats | undefined> {
  return settleWithinDeadline((done) => fs.stat(path, (error, stats) => (error?.code === 'ENOENT' ? done(null, undefined) : done(error, stats))));
}

/** The names in a directory, bounded as `readSmallFile`. */
export function readDirectory(path: string): Promise<string[]> {
  return settleWithinDeadline((done) => fs.readdir(path, done));
}

/** The error a stalled call ends with: `asDriverFailure` makes it a backend failure (503). */
export class StalledCallError extends Error {
  constructor() {
    super(`no answer from the storage within ${STALLED_CALL_MS} ms (a stalled disk or mount?)`);
  }
}

/**
 * {@link settle} and {@link withinDeadline} in one promise: a scan of the storage (garbage
 * collection's) makes a call per file, and each promise and closure less is CPU saved on each.
 */
function settleWithinDeadline<T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new StalledCallError()), STALLED_CALL_MS);
    start((error, value) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    });
  });
}

/** `call`'s result, or a {@link StalledCallError} once it has run for {@link STALLED_CALL_MS}. */
function withinDeadline<T>(call: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new StalledCallError()), STALLED_CALL_MS);
    call().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export function openFile(path: string, flags: string): Promise<number> {
  return settle((done) => fs.open(path, flags, done));
}

export function fstatFile(fd: number): Promise<fs.Stats> {
  return settle((done) => fs.fstat(fd, done));
}

export function syncFile(fd: number): Promise<void> {
  return settle<void>((done) => fs.fsync(fd, (error) => done(error, undefined)));
}

export function closeFile(fd: number): Promise<void> {
  return settle<void>((done) => fs.close(fd, (error) => done(error ?? null, undefined)));
}

/** Reads up to `length` bytes at `position` into the start of `buffer`; 0 at the end of the file. */
export function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return settle((done) => fs.read(fd, buffer, 0, length, position, done));
}

/** Writes `buffers` at `position`; may write fewer bytes than given, as `writev(2)` may. */
export function writeBuffersAt(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return settle((done) => fs.writev(fd, buffers, position, done));
}
