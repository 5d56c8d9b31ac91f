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
 * The content of a small file (a link, a manifest: `getContent` is for small objects only),
 * read synchronously. Every asynchronous file call is a hand-off to libuv's thread pool and back,
 * which measured here 50-100 µs of the event loop's time per call on a busy 2-core machine,
 * against 10-15 µs for this whole open-read-close done in place; a manifest GET makes three
 * such reads and stats. The read runs from `setImmediate`, after pending I/O has been served,
 * so a caller that loops over reads still lets the rest of the process make progress (awaiting
 * an already-settled read would only ever run microtasks and starve it). The price: a disk
 * that stalls stalls the event loop for that long, as it would stall a goroutine of the
 * reference. Blob streams and writes stay asynchronous.
 */
export function readSmallFile(path: string): Promise<Buffer> {
  return inPlace(() => fs.readFileSync(path));
}

/** `stat` in place, for the same reason as `readSmallFile`; `undefined` when nothing is there. */
export function statInPlace(path: string): Promise<fs.Stats | undefined> {
  return inPlace(() => fs.statSync(path, { throwIfNoEntry: false }));
}

function inPlace<T>(call: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(call());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
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
