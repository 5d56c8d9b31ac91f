import { isValidRepositoryName, type Digest } from '@berth/oci';
import { type FileWriter, PathNotFoundError, pathExists, type StorageDriver } from '@berth/storage-driver';
import { baseName, deleteIfExists, listOrEmpty } from './listing';
import { pathFor } from './paths';
import { repositoryDirectories, type WalkOptions } from './repository-walk';

/** An upload session as storage holds it: when it started, and how many bytes its data file has. */
export interface StoredUpload {
  /** RFC 3339, as written at the start. */
  startedAt: string;
  size: number;
  /** The data file opened for appending, when asked for (its `size` is the upload's). */
  writer?: FileWriter;
}

// Only these are uploads (berth's and the reference's ids); anything else under `_uploads` is
// left alone, as the reference's uuidFromPath does.
const UPLOAD_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Upload sessions in progress, `_uploads/<id>/{data,startedat}` of a repository, until they
 * are finished (the data moves into the blob store) or cancelled (after Distribution's
 * blobwriter.go and purgeuploads.go). berth writes no `hashstates/`: Node's native hash cannot
 * be saved, and the reference re-reads the data when they are missing.
 */
export class UploadStore {
  constructor(private readonly driver: StorageDriver) {}

  /** The data file of an upload, for the writer that streams bytes into it. */
  dataPath(repository: string, id: string): string {
    return pathFor({ kind: 'uploadData', repository, id });
  }

  async writeStartedAt(repository: string, id: string, startedAt: string): Promise<void> {
    await this.driver.putContent(pathFor({ kind: 'uploadStartedAt', repository, id }), Buffer.from(startedAt));
  }

  /**
   * The upload, or `undefined` when either of its files is gone (finished, cancelled, purged).
   * With `append`, the data file is opened for appending instead of stat'ed: the writer's size
   * is the upload's, and the one request serves both.
   */
  async open(repository: string, id: string, append: boolean): Promise<StoredUpload | undefined> {
    const data = pathFor({ kind: 'uploadData', repository, id });
    const [startedAt, file] = await Promise.allSettled([
      this.driver.getContent(pathFor({ kind: 'uploadStartedAt', repository, id })),
      append ? this.driver.writer(data, { append: true }) : this.driver.stat(data),
    ]);
    const writer = file.status === 'fulfilled' && 'write' in file.value ? file.value : undefined;
    if (startedAt.status === 'rejected' || file.status === 'rejected') {
      if (writer) await closeQuietly(writer);
      const error: unknown = startedAt.status === 'rejected' ? startedAt.reason : (file as PromiseRejectedResult).reason;
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
    const upload: StoredUpload = { startedAt: startedAt.value.toString('utf8'), size: file.value.size };
    if (writer) upload.writer = writer;
    return upload;
  }

  /** The text of the upload's `startedat` as stored, or `undefined` when it has none. */
  async startedAt(repository: string, id: string): Promise<string | undefined> {
    try {
      return (await this.driver.getContent(pathFor({ kind: 'uploadStartedAt', repository, id }))).toString('utf8');
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * When the upload was last written: its data file's modification time, or its directory's
   * when it has no data; `undefined` when it is gone. Dates an upload that has no readable
   * `startedat` (a POST that failed between its two writes, on a full disk).
   */
  async modifiedAt(repository: string, id: string): Promise<Date | undefined> {
    for (const path of [pathFor({ kind: 'uploadData', repository, id }), pathFor({ kind: 'uploadDir', repository, id })]) {
      try {
        return (await this.driver.stat(path)).modTime;
      } catch (error) {
        if (!(error instanceof PathNotFoundError)) throw error;
      }
    }
    return undefined;
  }

  /**
   * Moves the finished upload's data into the blob store under `digest` (`blobWriter.moveBlob`).
   * Content addressing makes an existing blob the same bytes, so it is kept; two uploads of
   * the same blob may both find it absent, and both moves then succeed, the second replacing
   * identical content.
   */
  async moveToBlobStore(repository: string, id: string, digest: Digest): Promise<void> {
    const blob = pathFor({ kind: 'blobData', digest });
    if (await pathExists(this.driver, blob)) return;
    try {
      await this.driver.move(pathFor({ kind: 'uploadData', repository, id }), blob);
    } catch (error) {
      if (await pathExists(this.driver, blob)) return;
      throw error;
    }
  }

  /** Removes the upload's directory; `false` when it was already gone. */
  async remove(repository: string, id: string): Promise<boolean> {
    return deleteIfExists(this.driver, pathFor({ kind: 'uploadDir', repository, id }));
  }

  /** Every upload session in storage, one directory listed at a time (upload purging's walk). */
  async *all(options: Pick<WalkOptions, 'signal'> = {}): AsyncGenerator<{ repository: string; id: string }> {
    for await (const { name, children } of repositoryDirectories(this.driver, options)) {
      if (!isValidRepositoryName(name)) continue;
      const uploadsDir = pathFor({ kind: 'uploadsDir', repository: name });
      if (!children.includes(uploadsDir)) continue;
      for (const upload of await listOrEmpty(this.driver, uploadsDir)) {
        const id = baseName(upload);
        if (UPLOAD_UUID.test(id)) yield { repository: name, id };
      }
    }
  }
}

/** Destroys a writer that will not be committed (a failed open, a refused chunk) and waits for its descriptor to close. */
export async function closeQuietly(writer: FileWriter): Promise<void> {
  if (!writer.destroyed) writer.destroy();
  await new Promise<void>((resolve) => {
    if (writer.closed) resolve();
    else writer.once('close', () => resolve());
  });
}
