import type { Readable, Writable } from 'node:stream';

/**
 * The one seam between berth and a storage backend, after Distribution's
 * `registry/storage/driver/storagedriver.go`. Drivers know nothing of registries:
 * paths are plain `/a/b/c` strings (see `path.ts`), content is bytes.
 *
 * Every driver is reached through `BaseDriver`, which validates paths before any
 * I/O and turns unknown failures into `StorageDriverError`.
 */
export interface StorageDriver {
  /** The driver's name as in `storage.<name>`: `filesystem`, `inmemory`, `swift`, … */
  readonly name: string;

  /**
   * Proves the backend answers and prepares it (Swift: authenticates, creates the container
   * when missing), so that a bad configuration stops start-up with a message rather than
   * failing the first request. Drivers with nothing to prepare leave it out.
   */
  ready?(): Promise<void>;

  /**
   * Removes backend objects that no file owns and that were last written before `olderThan`
   * (Swift: segments left by writers that never committed or closed), and returns their
   * backend names; with `dryRun` only returns them. Called by the upload-purging job after
   * it removed stale `_uploads`. Drivers whose files own all their bytes leave it out.
   */
  purgeOrphans?(olderThan: Date, options: { dryRun: boolean }): Promise<string[]>;

  /** The whole content at `path`. For small objects only (links, manifests): never blobs. */
  getContent(path: string): Promise<Buffer>;

  /** Stores `content` at `path`, replacing what was there. Small objects only. */
  putContent(path: string, content: Buffer): Promise<void>;

  /**
   * A stream of the content at `path` from byte `offset`.
   * An offset equal to the size yields an empty stream; a larger one throws `InvalidOffsetError`.
   */
  reader(path: string, offset?: number): Promise<Readable>;

  /**
   * A writer for `path`. Without `append` the content starts empty; with it, the writer
   * continues the content that an earlier writer ended without committing (possibly in
   * another process). What reads of `path` see before `commit()` is up to the driver:
   * callers write to a private path (an upload's `data`) and `move` it when whole.
   */
  writer(path: string, options?: { append?: boolean }): Promise<FileWriter>;

  /**
   * Metadata for the file or directory at `path`; `PathNotFoundError` when there is none.
   * The root (`/`) is asked of the backend, never answered from memory: the storage-driver
   * health check stats it to learn whether the backend answers.
   */
  stat(path: string): Promise<FileInfo>;

  /** The full paths of the direct children of the directory `path`; `PathNotFoundError` when it does not exist. */
  list(path: string): Promise<string[]>;

  /** Moves the file at `source` to `dest`, replacing any file there. */
  move(source: string, dest: string): Promise<void>;

  /** Deletes the file or the whole directory tree at `path`; `PathNotFoundError` when there is nothing. */
  delete(path: string): Promise<void>;

  /**
   * A URL from which a client may fetch `path` directly (a pre-signed URL), or `undefined`
   * when the driver does not offer one. `method` is `GET` or `HEAD`.
   */
  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined>;

  /**
   * Every file and directory below `path`, depth-first in lexical order.
   * `PathNotFoundError` when `path` does not exist.
   */
  walk(path: string): AsyncGenerator<FileInfo>;
}

/**
 * A stream into a file. `end()` (or the end of a `pipeline` into it) closes the writer and
 * keeps the content for a later writer opened with `append`; `commit()` ends the stream if
 * it is still open, waits for every byte to reach the backend and makes the file final;
 * `cancel()` removes what was written. `size` counts every byte of the file so far,
 * including those written by earlier writers.
 */
export interface FileWriter extends Writable {
  readonly size: number;
  /** Makes the content durable and complete; waits for every written byte to reach the backend. */
  commit(): Promise<void>;
  /** Abandons the content: nothing of it remains at the path. */
  cancel(): Promise<void>;
  /**
   * The file's content so far from `offset`, asked of a writer opened with `append` before it
   * writes. Offered by drivers whose `reader` cannot serve a file ended without commit (the
   * object stores: S3 serves no byte of an open multipart upload); elsewhere `reader` serves it.
   */
  readWritten?(offset: number): Promise<Readable>;
}

export interface FileInfo {
  path: string;
  /** Bytes for a file; 0 for a directory. */
  size: number;
  modTime: Date;
  isDir: boolean;
}
