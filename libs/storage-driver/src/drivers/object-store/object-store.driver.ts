import { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError } from '../../errors';
import { ROOT_PATH } from '../../path';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { MultipartWriter, type MultipartWriterPlan } from './multipart-writer';
import { type ObjectStore, type UploadedPart, uploadsOf } from './object-store';

/** The reference's lifetime of a redirect URL. */
const REDIRECT_SECONDS = 20 * 60;

export interface ObjectStoreSettings {
  rootdirectory: string;
  chunksize: number;
  multipartcopychunksize: number;
  multipartcopymaxconcurrency: number;
  multipartcopythresholdsize: number;
}

/**
 * A driver on an object store with S3's model (the `s3` and `oss` drivers), in the
 * reference's layout: the object of driver path `/a/b` is `<rootdirectory>/a/b` without a
 * leading slash (its `s3Path`), so the reference registry and berth serve one bucket. Files
 * being written are multipart uploads (see `MultipartWriter`); deleting a directory aborts
 * the uploads below it too, so upload purging and cancel leave none behind (the reference
 * left them: distribution#1948).
 */
export class ObjectStoreDriver implements StorageDriver {
  /** `<root>/` (or nothing): the part of every key before the driver path. */
  private readonly rootPrefix: string;

  constructor(
    readonly name: string,
    private readonly store: ObjectStore,
    private readonly settings: ObjectStoreSettings,
  ) {
    this.rootPrefix = this.dirPrefix(ROOT_PATH);
  }

  async ready(): Promise<void> {
    // The reference wants the bucket to exist; saying so at start-up beats failing the first push.
    await this.store.checkBucket();
  }

  /** The reference's `s3Path`: root and path joined, no leading slash. */
  key(path: string): string {
    return `${this.settings.rootdirectory.replace(/\/+$/, '')}${path}`.replace(/^\/+/, '');
  }

  private dirPrefix(path: string): string {
    const key = this.key(path === ROOT_PATH ? '' : path);
    return key === '' ? '' : `${key}/`;
  }

  private pathOf(key: string): string {
    return `/${key.slice(this.rootPrefix.length)}`;
  }

  async getContent(path: string): Promise<Buffer> {
    const content = await this.store.getObject(this.key(path));
    if (content === undefined) throw new PathNotFoundError(path, this.name);
    return content;
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    await this.store.putObject(this.key(path), content);
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    const key = this.key(path);
    const stream = await this.store.readObject(key, offset);
    if (stream === undefined) throw new PathNotFoundError(path, this.name);
    if (stream !== 'unsatisfiable') return stream;
    // At or past the end: at the end the stream is empty.
    const head = await this.store.head(key);
    if (head === undefined) throw new PathNotFoundError(path, this.name);
    if (offset === head.size) return Readable.from([]);
    throw new InvalidOffsetError(path, offset, this.name);
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const key = this.key(path);
    const plan: MultipartWriterPlan = { driverName: this.name, path, key, append: options.append === true, uploadId: undefined, parts: [], base: undefined, chunkSize: this.settings.chunksize };
    if (options.append) {
      const latest = (await uploadsOf(this.store, key)).at(-1);
      if (latest !== undefined) {
        plan.uploadId = latest.uploadId;
        plan.parts = await this.store.listParts(key, latest.uploadId);
      }
      // No part yet: the file so far is the object, if any (a writer completed it to continue).
      if (plan.parts.length === 0) plan.base = await this.store.head(key);
      if (plan.uploadId === undefined && plan.base === undefined) throw new PathNotFoundError(path, this.name);
    }
    return new MultipartWriter(this.store, plan);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === ROOT_PATH) {
      // Asked of the store every time: the health check stats the root to learn whether it answers.
      await this.store.checkBucket();
      return { path, size: 0, modTime: new Date(0), isDir: true };
    }
    const key = this.key(path);
    const head = await this.store.head(key);
    if (head !== undefined) return { path, size: head.size, modTime: head.modTime, isDir: false };
    // Not an object: a file being written (an open multipart upload), a directory, or nothing.
    const [unfinished, directory] = await Promise.all([this.unfinishedFile(path, key), this.directory(path)]);
    const found = unfinished ?? directory;
    if (found === undefined) throw new PathNotFoundError(path, this.name);
    return found;
  }

  /** A file ended without commit: its open upload's parts are the file (see `MultipartWriter`). */
  private async unfinishedFile(path: string, key: string): Promise<FileInfo | undefined> {
    const latest = (await uploadsOf(this.store, key)).at(-1);
    if (latest === undefined) return undefined;
    const parts = await this.store.listParts(key, latest.uploadId);
    if (parts.length === 0) return undefined;
    return { path, size: parts.reduce((sum, part) => sum + part.size, 0), modTime: latest.initiated, isDir: false };
  }

  private async directory(path: string): Promise<FileInfo | undefined> {
    for await (const page of this.store.listPages(this.dirPrefix(path), { maxKeys: 1 })) {
      const first = page.objects[0];
      if (first !== undefined) return { path, size: 0, modTime: first.modTime, isDir: true };
      break;
    }
    return undefined;
  }

  async list(path: string): Promise<string[]> {
    const files: string[] = [];
    const directories: string[] = [];
    for await (const page of this.store.listPages(this.dirPrefix(path), { delimiter: '/' })) {
      for (const object of page.objects) files.push(this.pathOf(object.key));
      for (const prefix of page.prefixes) directories.push(this.pathOf(prefix.slice(0, -1)));
    }
    if (path !== ROOT_PATH && files.length === 0 && directories.length === 0) throw new PathNotFoundError(path, this.name);
    return [...files, ...directories];
  }

  async move(source: string, dest: string): Promise<void> {
    const from = this.key(source);
    const to = this.key(dest);
    const head = await this.store.head(from);
    if (head === undefined) throw new PathNotFoundError(source, this.name);
    // The stores refuse a copy onto itself, and deleting the source would lose the file.
    if (from === to) return;
    if (head.size <= this.settings.multipartcopythresholdsize) await this.store.copyObject(from, to);
    else await this.multipartCopy(from, to, head.size);
    await this.store.deleteObject(from);
  }

  /** The reference's copy of a large object: ranges of `multipartcopychunksize` copied in parallel. */
  private async multipartCopy(from: string, to: string, size: number): Promise<void> {
    const chunk = this.settings.multipartcopychunksize;
    const uploadId = await this.store.createUpload(to);
    try {
      const count = Math.ceil(size / chunk);
      const parts = new Array<UploadedPart>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let index = next++; index < count; index = next++) {
          const start = index * chunk;
          parts[index] = await this.store.copyPart(to, uploadId, index + 1, from, Math.min(chunk, size - start), start);
        }
      };
      await Promise.all(Array.from({ length: Math.min(count, this.settings.multipartcopymaxconcurrency) }, worker));
      await this.store.completeUpload(to, uploadId, parts);
    } catch (error) {
      await this.store.abortUpload(to, uploadId).catch(() => undefined);
      throw error;
    }
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    const keys: string[] = [];
    const [head, uploads] = await Promise.all([this.store.head(key), this.store.listUploads(key)]);
    if (head !== undefined) keys.push(key);
    for await (const page of this.store.listPages(`${key}/`)) for (const object of page.objects) keys.push(object.key);
    // Unfinished files are multipart uploads: they go with the directory (distribution#1948).
    const unfinished = uploads.filter((upload) => upload.key === key || upload.key.startsWith(`${key}/`));
    if (keys.length === 0 && unfinished.length === 0) throw new PathNotFoundError(path, this.name);
    await Promise.all(unfinished.map((upload) => this.store.abortUpload(upload.key, upload.uploadId)));
    await this.store.deleteObjects(keys);
  }

  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.store.signedUrl(this.key(path), method, REDIRECT_SECONDS);
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    if (path !== ROOT_PATH) {
      const start = await this.stat(path);
      if (!start.isDir) throw new PathNotFoundError(path, this.name);
    }
    yield* this.walkDirectory(path);
  }

  /** One listing per directory, as the reference's walk: children sorted, files with their sizes. */
  private async *walkDirectory(path: string): AsyncGenerator<FileInfo> {
    const children: FileInfo[] = [];
    for await (const page of this.store.listPages(this.dirPrefix(path), { delimiter: '/' })) {
      for (const object of page.objects) children.push({ path: this.pathOf(object.key), size: object.size, modTime: object.modTime, isDir: false });
      for (const prefix of page.prefixes) children.push({ path: this.pathOf(prefix.slice(0, -1)), size: 0, modTime: new Date(0), isDir: true });
    }
    children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const child of children) {
      yield child;
      if (child.isDir) yield* this.walkDirectory(child.path);
    }
  }
}
