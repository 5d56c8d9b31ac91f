import { Readable } from 'node:stream';
import { type Bucket, type File, type GetFilesOptions, Storage, type StorageOptions } from '@google-cloud/storage';
import { InvalidOffsetError, PathNotFoundError, StorageDriverError } from '../../errors';
import { ROOT_PATH } from '../../path';
import type { DriverParams } from '../../params';
import { DEFAULT_RETRY_POLICY, isTransientError } from '../../retry';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { walkByListing } from '../../walk';
import { GcsWriter, isPrivateName, isSessionMarker, SessionCanceller } from './gcs.writer';
import { readServiceAccountKey } from './service-account-key';

type GcsParams = DriverParams<'gcs'>;

/** How long a redirect URL works: the reference's 20 minutes. */
const REDIRECT_LIFETIME_MS = 20 * 60_000;

/**
 * Google Cloud Storage, after the reference's `registry/storage/driver/gcs`: one object per
 * file under `rootdirectory` in `bucket`, V4 signed URLs for redirects. Writers stream through
 * resumable upload sessions (`gcs.writer.ts`) and end with a whole object, so the bytes of an
 * unfinished upload are readable and any instance continues them (a compose of the object
 * and the new part); the reference instead keeps an unreadable session in a placeholder.
 *
 * One retry policy: the SDK retries with the shared policy's attempts, longest wait and
 * classification (`retry.ts`); nothing here retries again on top of it.
 */
export class GcsDriver implements StorageDriver {
  readonly name = 'gcs';
  private readonly bucket: Bucket;
  private readonly prefix: string;
  private readonly sessions: SessionCanceller;

  constructor(private readonly params: GcsParams) {
    const policy = DEFAULT_RETRY_POLICY;
    const options: StorageOptions = {
      retryOptions: {
        autoRetry: true,
        maxRetries: policy.attempts - 1,
        maxRetryDelay: policy.maxDelayMs / 1000,
        retryDelayMultiplier: 2,
        retryableErrorFn: (error) => isTransientError(error),
      },
    };
    // An emulator's endpoint: the SDK then sends no credentials (they still sign redirect URLs).
    if (params.apiendpoint !== undefined) options.apiEndpoint = params.apiendpoint.replace(/\/+$/, '');
    const credentials: unknown = params.keyfile !== undefined ? readServiceAccountKey(params.keyfile) : params.credentials;
    if (credentials !== undefined) {
      options.credentials = credentials as StorageOptions['credentials'];
      const projectId = (credentials as { project_id?: unknown }).project_id;
      if (typeof projectId === 'string') options.projectId = projectId;
    }
    this.bucket = new Storage(options).bucket(params.bucket);
    const root = params.rootdirectory.replace(/^\/+|\/+$/g, '');
    this.prefix = root === '' ? '' : `${root}/`;
    this.sessions = new SessionCanceller(this.bucket);
  }

  /** Proves the bucket answers; it is not created here (that needs a project and a location). */
  async ready(): Promise<void> {
    const [exists] = await this.bucket.exists();
    if (!exists) throw new StorageDriverError(`bucket ${this.params.bucket} does not exist`, this.name);
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      const [content] = await this.file(path).download({ validation: false });
      return content;
    } catch (error) {
      throw this.notFound(error, path);
    }
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    // One request (multipart upload): GCS replaces an object atomically.
    await this.file(path).save(Buffer.from(content), { resumable: false, contentType: 'application/octet-stream', validation: 'md5' });
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    const file = this.file(path);
    let metadata: { size?: string | number; generation?: string | number };
    try {
      [metadata] = await file.getMetadata();
    } catch (error) {
      throw this.notFound(error, path);
    }
    const size = Number(metadata.size ?? 0);
    if (offset > size) throw new InvalidOffsetError(path, offset, this.name);
    if (offset === size) return Readable.from([]);
    // The generation stat'ed, so a replaced object fails the read rather than mixing two.
    const exact = this.bucket.file(file.name, metadata.generation === undefined ? {} : { generation: Number(metadata.generation) });
    return exact.createReadStream({ start: offset, validation: false });
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const file = this.file(path);
    let inherited: { size: number; generation: string } | undefined;
    if (options.append) {
      try {
        const [metadata] = await file.getMetadata();
        inherited = { size: Number(metadata.size ?? 0), generation: String(metadata.generation) };
      } catch (error) {
        throw this.notFound(error, path);
      }
    }
    return new GcsWriter(this.bucket, file, path, this.params.chunksize, inherited, this.sessions);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === ROOT_PATH) {
      // The health check's stat: a request to the bucket, never an answer from memory.
      const [metadata] = await this.bucket.getMetadata();
      return { path, size: 0, modTime: new Date(metadata.updated ?? 0), isDir: true };
    }
    try {
      const [metadata] = await this.file(path).getMetadata();
      return { path, size: Number(metadata.size ?? 0), modTime: new Date(metadata.updated ?? 0), isDir: false };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    for await (const item of this.objects({ prefix: this.dirPrefix(path) })) {
      if (!isPrivateName(item.name)) return { path, size: 0, modTime: new Date(item.metadata.updated ?? 0), isDir: true };
    }
    throw new PathNotFoundError(path, this.name);
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.dirPrefix(path);
    const children: string[] = [];
    let pageToken: string | undefined;
    do {
      const query: GetFilesOptions = { prefix, delimiter: '/', autoPaginate: false, maxResults: 1000 };
      if (pageToken !== undefined) query.pageToken = pageToken;
      const [files, next, response] = await this.bucket.getFiles(query);
      for (const file of files) if (!isPrivateName(file.name)) children.push(file.name);
      for (const sub of (response as { prefixes?: string[] } | undefined)?.prefixes ?? []) children.push(sub.replace(/\/$/, ''));
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken !== undefined);
    if (children.length === 0 && path !== ROOT_PATH) throw new PathNotFoundError(path, this.name);
    return children.map((name) => `/${name.slice(this.prefix.length)}`);
  }

  async move(source: string, dest: string): Promise<void> {
    if (source === dest) {
      if ((await this.stat(source)).isDir) throw new PathNotFoundError(source, this.name);
      return;
    }
    const from = this.file(source);
    try {
      await from.copy(this.file(dest));
    } catch (error) {
      throw this.notFound(error, source);
    }
    await from.delete({ ignoreNotFound: true });
  }

  async delete(path: string): Promise<void> {
    const names: string[] = [];
    for await (const item of this.objects({ prefix: this.dirPrefix(path) })) names.push(item.name);
    if (names.length === 0) {
      try {
        await this.file(path).delete();
        return;
      } catch (error) {
        throw this.notFound(error, path);
      }
    }
    // Sessions first: a marker names a resumable upload that would otherwise outlive its file.
    for (const name of names.filter(isSessionMarker)) await this.sessions.cancelMarked(this.bucket.file(name));
    for (const name of names.filter((name) => !isSessionMarker(name))) await this.bucket.file(name).delete({ ignoreNotFound: true });
  }

  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    // A V4 signature covers the method, and the SDK signs reads as GET only: HEAD is served here.
    if (method !== 'GET') return undefined;
    const [url] = await this.file(path).getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + REDIRECT_LIFETIME_MS });
    return url;
  }

  walk(path: string): AsyncGenerator<FileInfo> {
    return walkByListing(this, path);
  }

  /**
   * Removes what dead writers left, last written before `olderThan`: resumable sessions named
   * by their markers (cancelled), and parts never composed into their file.
   */
  async purgeOrphans(olderThan: Date, options: { dryRun: boolean }): Promise<string[]> {
    const orphans: string[] = [];
    for await (const item of this.objects({ prefix: this.prefix })) {
      if (!isPrivateName(item.name) || new Date(item.metadata.updated ?? 0) >= olderThan) continue;
      orphans.push(item.name);
      if (options.dryRun) continue;
      if (isSessionMarker(item.name)) await this.sessions.cancelMarked(item);
      else await item.delete({ ignoreNotFound: true });
    }
    return orphans;
  }

  private async *objects(query: GetFilesOptions): AsyncGenerator<File> {
    let pageToken: string | undefined;
    do {
      const page: GetFilesOptions = { ...query, autoPaginate: false, maxResults: 1000 };
      if (pageToken !== undefined) page.pageToken = pageToken;
      const [files, next] = await this.bucket.getFiles(page);
      yield* files;
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken !== undefined);
  }

  private notFound(error: unknown, path: string): unknown {
    return isNotFound(error) ? new PathNotFoundError(path, this.name) : error;
  }

  private file(path: string): File {
    return this.bucket.file(this.prefix + path.slice(1));
  }

  private dirPrefix(path: string): string {
    return path === ROOT_PATH ? this.prefix : `${this.prefix}${path.slice(1)}/`;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 404;
}
