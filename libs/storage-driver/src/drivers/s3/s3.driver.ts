import { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InvalidOffsetError, PathNotFoundError } from '../../errors';
import { ROOT_PATH } from '../../path';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { createS3Client, type S3Params } from './s3.client';
import { isNotFound, S3Objects } from './s3.objects';
import { S3Writer } from './s3.writer';

/** The reference's lifetime of a redirect URL. */
const REDIRECT_SECONDS = 20 * 60;

/**
 * Amazon S3 and S3-compatible stores, in the reference's layout: the object of driver path
 * `/a/b` is `<rootdirectory>/a/b` without a leading slash (its `s3Path`), so the reference
 * registry and berth serve one bucket. Files being written are multipart uploads (see
 * `S3Writer`); deleting a directory aborts the uploads below it too, so upload purging and
 * cancel leave none behind (the reference left them: distribution#1948).
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly objects: S3Objects;
  private readonly presigner: S3Client;
  /** `<root>/` (or nothing): the part of every key before the driver path. */
  private readonly rootPrefix: string;

  constructor(private readonly params: S3Params) {
    const client = createS3Client(params);
    this.objects = new S3Objects(client, params);
    this.presigner = params.redirectendpoint !== undefined ? createS3Client(params, params.redirectendpoint) : client;
    this.rootPrefix = this.dirPrefix(ROOT_PATH);
  }

  async ready(): Promise<void> {
    // The reference wants the bucket to exist; saying so at start-up beats failing the first push.
    await this.objects.call(() => this.objects.client.send(new HeadBucketCommand({ Bucket: this.params.bucket })));
  }

  /** The reference's `s3Path`: root and path joined, no leading slash. */
  key(path: string): string {
    return `${this.params.rootdirectory.replace(/\/+$/, '')}${path}`.replace(/^\/+/, '');
  }

  private dirPrefix(path: string): string {
    const key = this.key(path === ROOT_PATH ? '' : path);
    return key === '' ? '' : `${key}/`;
  }

  private pathOf(key: string): string {
    return `/${key.slice(this.rootPrefix.length)}`;
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await this.objects.getObject(this.key(path));
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, this.name);
      throw error;
    }
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    await this.objects.putObject(this.key(path), content);
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    const key = this.key(path);
    try {
      const response = await this.objects.call(() =>
        this.objects.client.send(new GetObjectCommand({ Bucket: this.params.bucket, Key: key, Range: offset > 0 ? `bytes=${offset}-` : undefined })),
      );
      return response.Body instanceof Readable ? response.Body : Readable.from([]);
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, this.name);
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 416) throw error;
    }
    // 416: the offset is at or past the end; at the end the stream is empty.
    const head = await this.objects.head(key);
    if (head === undefined) throw new PathNotFoundError(path, this.name);
    if (offset === head.size) return Readable.from([]);
    throw new InvalidOffsetError(path, offset, this.name);
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const key = this.key(path);
    const plan = { path, key, append: options.append === true, uploadId: undefined as string | undefined, parts: [] as Awaited<ReturnType<S3Objects['listParts']>>, base: undefined as { size: number } | undefined, chunkSize: this.params.chunksize };
    if (options.append) {
      const latest = (await this.objects.uploadsOf(key)).at(-1);
      if (latest?.UploadId !== undefined) {
        plan.uploadId = latest.UploadId;
        plan.parts = await this.objects.listParts(key, latest.UploadId);
      }
      // No part yet: the file so far is the object, if any (a writer completed it to continue).
      if (plan.parts.length === 0) plan.base = await this.objects.head(key);
      if (plan.uploadId === undefined && plan.base === undefined) throw new PathNotFoundError(path, this.name);
    }
    return new S3Writer(this.objects, plan);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === ROOT_PATH) {
      // Asked of S3 every time: the health check stats the root to learn whether it answers.
      await this.objects.call(() => this.objects.client.send(new HeadBucketCommand({ Bucket: this.params.bucket })));
      return { path, size: 0, modTime: new Date(0), isDir: true };
    }
    const head = await this.objects.head(this.key(path));
    if (head !== undefined) return { path, size: head.size, modTime: head.modTime, isDir: false };
    for await (const page of this.objects.listPages(this.dirPrefix(path), { maxKeys: 1 })) {
      const first = page.Contents?.[0];
      if (first !== undefined) return { path, size: 0, modTime: first.LastModified ?? new Date(0), isDir: true };
      break;
    }
    throw new PathNotFoundError(path, this.name);
  }

  async list(path: string): Promise<string[]> {
    const files: string[] = [];
    const directories: string[] = [];
    for await (const page of this.objects.listPages(this.dirPrefix(path), { delimiter: '/' })) {
      for (const object of page.Contents ?? []) if (object.Key !== undefined) files.push(this.pathOf(object.Key));
      for (const prefix of page.CommonPrefixes ?? []) if (prefix.Prefix !== undefined) directories.push(this.pathOf(prefix.Prefix.slice(0, -1)));
    }
    if (path !== ROOT_PATH && files.length === 0 && directories.length === 0) throw new PathNotFoundError(path, this.name);
    return [...files, ...directories];
  }

  async move(source: string, dest: string): Promise<void> {
    const from = this.key(source);
    const to = this.key(dest);
    const head = await this.objects.head(from);
    if (head === undefined) throw new PathNotFoundError(source, this.name);
    // S3 refuses a copy onto itself, and deleting the source would lose the file.
    if (from === to) return;
    if (head.size <= this.params.multipartcopythresholdsize) await this.objects.copyObject(from, to);
    else await this.multipartCopy(from, to, head.size);
    await this.objects.deleteObject(from);
  }

  /** The reference's copy of a large object: ranges of `multipartcopychunksize` copied in parallel. */
  private async multipartCopy(from: string, to: string, size: number): Promise<void> {
    const chunk = this.params.multipartcopychunksize;
    const uploadId = await this.objects.createUpload(to);
    try {
      const count = Math.ceil(size / chunk);
      const parts = new Array<Awaited<ReturnType<S3Objects['copyPart']>>>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let index = next++; index < count; index = next++) {
          const start = index * chunk;
          parts[index] = await this.objects.copyPart(to, uploadId, index + 1, from, Math.min(chunk, size - start), start);
        }
      };
      await Promise.all(Array.from({ length: Math.min(count, this.params.multipartcopymaxconcurrency) }, worker));
      await this.objects.completeUpload(to, uploadId, parts);
    } catch (error) {
      await this.objects.abortUpload(to, uploadId).catch(() => undefined);
      throw error;
    }
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    const keys: string[] = [];
    const [head, uploads] = await Promise.all([this.objects.head(key), this.objects.listUploads(key)]);
    if (head !== undefined) keys.push(key);
    for await (const page of this.objects.listPages(`${key}/`)) {
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    }
    // Unfinished files are multipart uploads: they go with the directory (distribution#1948).
    const unfinished = uploads.filter((upload) => upload.Key === key || upload.Key?.startsWith(`${key}/`));
    if (keys.length === 0 && unfinished.length === 0) throw new PathNotFoundError(path, this.name);
    await Promise.all(unfinished.map((upload) => this.objects.abortUpload(upload.Key ?? '', upload.UploadId ?? '')));
    await this.objects.deleteObjects(keys);
  }

  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    const input = { Bucket: this.params.bucket, Key: this.key(path) };
    const command = method === 'GET' ? new GetObjectCommand(input) : new HeadObjectCommand(input);
    return getSignedUrl(this.presigner, command, { expiresIn: REDIRECT_SECONDS });
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
    for await (const page of this.objects.listPages(this.dirPrefix(path), { delimiter: '/' })) {
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) children.push({ path: this.pathOf(object.Key), size: object.Size ?? 0, modTime: object.LastModified ?? new Date(0), isDir: false });
      }
      for (const prefix of page.CommonPrefixes ?? []) {
        if (prefix.Prefix !== undefined) children.push({ path: this.pathOf(prefix.Prefix.slice(0, -1)), size: 0, modTime: new Date(0), isDir: true });
      }
    }
    children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const child of children) {
      yield child;
      if (child.isDir) yield* this.walkDirectory(child.path);
    }
  }
}
