import { Readable } from 'node:stream';
import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  BlobSASPermissions,
  BlobServiceClient,
  type BlockBlobClient,
  type ContainerClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { InvalidOffsetError, PathNotFoundError, StorageDriverError } from '../../errors';
import { ROOT_PATH } from '../../path';
import type { DriverParams } from '../../params';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from '../../retry';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { walkByListing } from '../../walk';
import { isAzureNotFound, isAzureTransient } from './azure.errors';
import { AzureWriter, blockIndex, discardBlob } from './azure.writer';

type AzureParams = DriverParams<'azure'>;

/** How long a redirect URL works: the reference's 20 minutes. */
const REDIRECT_LIFETIME_MS = 20 * 60_000;
/** A user delegation key is asked for this long, and renewed when less than the grace is left (the reference's figures). */
const DELEGATION_KEY_LIFETIME_MS = 48 * 3_600_000;
const DELEGATION_KEY_GRACE_MS = 30 * 60_000;

/**
 * Azure Blob Storage, after the reference's `registry/storage/driver/azure`: one blob per
 * file under `rootdirectory` in `container`, SAS URLs for redirects, and the reference's
 * credential types. Unlike the reference (append blobs), writers stage blocks and commit the
 * block list whenever they end (`azure.writer.ts`), so the bytes of an unfinished upload are
 * readable and any instance can continue them from the committed block list.
 *
 * The SDK's own retries are off (one try per call): every call goes through the shared
 * policy, its attempts and first wait set by the reference's `max_retries` and `retry_delay`.
 */
export class AzureDriver implements StorageDriver {
  readonly name = 'azure';
  private readonly container: ContainerClient;
  private readonly service: BlobServiceClient;
  private readonly sharedKey: StorageSharedKeyCredential | undefined;
  private readonly retryPolicy: RetryPolicy;
  private readonly prefix: string;
  private readonly protocol: SASProtocol;
  private delegationKey: { key: UserDelegationKey; expires: number } | undefined;

  constructor(private readonly params: AzureParams) {
    const serviceUrl = params.serviceurl ?? `https://${params.accountname}.blob.${params.realm}`;
    const options = { retryOptions: { maxTries: 1 } };
    const type = params.credentials?.type ?? 'shared_key';
    if (type === 'shared_key') {
      this.sharedKey = new StorageSharedKeyCredential(params.accountname, params.accountkey ?? '');
      this.service = new BlobServiceClient(serviceUrl, this.sharedKey, options);
    } else {
      this.service = new BlobServiceClient(serviceUrl, tokenCredential(params), options);
    }
    this.container = this.service.getContainerClient(params.container);
    this.retryPolicy = { attempts: params.max_retries, firstDelayMs: params.retry_delay, maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs };
    const root = params.rootdirectory.replace(/^\/+|\/+$/g, '');
    this.prefix = root === '' ? '' : `${root}/`;
    // Emulators speak plain HTTP; a real account's SAS stays HTTPS-only, as the reference's.
    this.protocol = serviceUrl.startsWith('http:') ? SASProtocol.HttpsAndHttp : SASProtocol.Https;
  }

  /** Proves the account answers; creates the container when it is missing (as the swift driver does). */
  async ready(): Promise<void> {
    const exists = await this.call(() => this.container.exists());
    if (!exists) await this.call(() => this.container.createIfNotExists());
  }

  async getContent(path: string): Promise<Buffer> {
    return this.call(async () => {
      try {
        return await this.container.getBlobClient(this.blobName(path)).downloadToBuffer();
      } catch (error) {
        throw this.notFound(error, path);
      }
    });
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    const blob = this.block(path);
    const copy = Buffer.from(content);
    await this.call(async () => {
      try {
        await blob.upload(copy, copy.length);
      } catch (error) {
        // Put Blob cannot replace an append blob (the reference wrote links as append blobs
        // before v3): remove it, then write.
        if ((error as { code?: unknown }).code !== 'InvalidBlobType') throw error;
        await blob.deleteIfExists();
        await blob.upload(copy, copy.length);
      }
    });
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    const blob = this.container.getBlobClient(this.blobName(path));
    const props = await this.call(async () => {
      try {
        return await blob.getProperties();
      } catch (error) {
        throw this.notFound(error, path);
      }
    });
    const size = props.contentLength ?? 0;
    if (offset > size) throw new InvalidOffsetError(path, offset, this.name);
    if (offset === size) return Readable.from([]);
    // The SDK resumes a broken download from where it stopped (the one retry a stream can
    // have), as many times as the policy allows, and only while the blob is the one stat'ed.
    const download = await this.call(() =>
      blob.download(offset, undefined, {
        maxRetryRequests: this.retryPolicy.attempts - 1,
        conditions: props.etag === undefined ? {} : { ifMatch: props.etag },
      }),
    );
    const body = download.readableStreamBody;
    if (body === undefined) throw new StorageDriverError(`no body in the download of ${path}`, this.name);
    return body as Readable;
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const blob = this.block(path);
    if (!options.append) return new AzureWriter(blob, this.writerContext(path), []);
    const committed = await this.call(async () => {
      try {
        return await blob.getBlockList('committed');
      } catch (error) {
        throw this.notFound(error, path);
      }
    });
    const blocks = (committed.committedBlocks ?? []).map((block, index) => {
      if (blockIndex(block.name) !== index) {
        throw new StorageDriverError(`cannot append to ${path}: its blocks were not written by this driver's writer`, this.name);
      }
      return { id: block.name, size: block.size };
    });
    const listed = blocks.reduce((sum, block) => sum + block.size, 0);
    if (listed !== (committed.blobContentLength ?? 0)) {
      // A blob written whole (putContent, the reference's append blobs) has no block list to extend.
      throw new StorageDriverError(`cannot append to ${path}: it was not written through a block writer`, this.name);
    }
    return new AzureWriter(blob, this.writerContext(path), blocks);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === ROOT_PATH) {
      // The health check's stat: a request to the account, never an answer from memory.
      const props = await this.call(() => this.container.getProperties());
      return { path, size: 0, modTime: props.lastModified ?? new Date(0), isDir: true };
    }
    return this.call(async () => {
      try {
        const props = await this.container.getBlobClient(this.blobName(path)).getProperties();
        return { path, size: props.contentLength ?? 0, modTime: props.lastModified ?? new Date(0), isDir: false };
      } catch (error) {
        if (!isAzureNotFound(error)) throw error;
      }
      const page = await this.container.listBlobsFlat({ prefix: this.dirPrefix(path) }).byPage({ maxPageSize: 1 }).next();
      const first = page.done ? undefined : page.value.segment.blobItems[0];
      if (first === undefined) throw new PathNotFoundError(path, this.name);
      return { path, size: 0, modTime: first.properties.lastModified, isDir: true };
    });
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.dirPrefix(path);
    const children = await this.call(async () => {
      const names: string[] = [];
      for await (const item of this.container.listBlobsByHierarchy('/', { prefix })) {
        names.push(item.name.replace(/\/$/, ''));
      }
      return names;
    });
    if (children.length === 0 && path !== ROOT_PATH) throw new PathNotFoundError(path, this.name);
    return children.map((name) => this.pathOf(name));
  }

  async move(source: string, dest: string): Promise<void> {
    const from = this.container.getBlobClient(this.blobName(source));
    if (source === dest) {
      await this.stat(source).then((info) => {
        if (info.isDir) throw new PathNotFoundError(source, this.name);
      });
      return;
    }
    const to = this.container.getBlobClient(this.blobName(dest));
    await this.call(async () => {
      try {
        // Within one account a copy is usually done when Copy Blob answers; otherwise it is
        // polled every `retry_delay`, as the reference does.
        const poller = await to.beginCopyFromURL(from.url, { intervalInMs: this.params.retry_delay });
        const result = await poller.pollUntilDone();
        if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
          throw new StorageDriverError(`copy of ${source} to ${dest} ended ${result.copyStatus}`, this.name);
        }
      } catch (error) {
        throw this.notFound(error, source);
      }
    });
    await this.call(() => from.deleteIfExists({ deleteSnapshots: 'include' }));
  }

  async delete(path: string): Promise<void> {
    const deleted = await this.call(() => this.container.getBlobClient(this.blobName(path)).deleteIfExists({ deleteSnapshots: 'include' }));
    if (deleted.succeeded) return;
    // A directory: every blob below, those with staged blocks only included, so no upload
    // leaves blocks behind.
    let found = 0;
    const prefix = this.dirPrefix(path);
    const names = await this.call(async () => {
      const all: string[] = [];
      for await (const item of this.container.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) all.push(item.name);
      return all;
    });
    for (const name of names) {
      await discardBlob(this.container.getBlockBlobClient(name), (call) => this.call(call));
      found++;
    }
    if (found === 0) throw new PathNotFoundError(path, this.name);
  }

  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    void method; // A read SAS serves both.
    const blob = this.container.getBlobClient(this.blobName(path));
    const startsOn = new Date(Date.now() - 10_000);
    const values = {
      containerName: this.params.container,
      blobName: this.blobName(path),
      permissions: BlobSASPermissions.parse('r'),
      startsOn,
      expiresOn: new Date(Date.now() + REDIRECT_LIFETIME_MS),
      protocol: this.protocol,
    };
    const sas =
      this.sharedKey !== undefined
        ? generateBlobSASQueryParameters(values, this.sharedKey)
        : generateBlobSASQueryParameters(values, await this.userDelegationKey(), this.params.accountname);
    return `${blob.url}?${sas.toString()}`;
  }

  walk(path: string): AsyncGenerator<FileInfo> {
    return walkByListing(this, path);
  }

  /**
   * Removes blobs that hold staged blocks only (a writer that died before its first block
   * list was committed), last touched before `olderThan`. Committed blobs are files and stay.
   */
  async purgeOrphans(olderThan: Date, options: { dryRun: boolean }): Promise<string[]> {
    const candidates = await this.call(async () => {
      const found: string[] = [];
      for await (const item of this.container.listBlobsFlat({ prefix: this.prefix, includeUncommitedBlobs: true })) {
        if ((item.properties.contentLength ?? 0) === 0 && item.properties.lastModified < olderThan) found.push(item.name);
      }
      return found;
    });
    const orphans: string[] = [];
    for (const name of candidates) {
      const blob = this.container.getBlockBlobClient(name);
      const committed = await this.call(() => blob.exists());
      if (committed) continue;
      orphans.push(name);
      if (!options.dryRun) await discardBlob(blob, (call) => this.call(call));
    }
    return orphans;
  }

  private writerContext(path: string) {
    return { path, retry: <T>(call: () => Promise<T>) => this.call(call) };
  }

  private async userDelegationKey(): Promise<UserDelegationKey> {
    const now = Date.now();
    if (this.delegationKey === undefined || this.delegationKey.expires - now < DELEGATION_KEY_GRACE_MS) {
      const expires = now + DELEGATION_KEY_LIFETIME_MS;
      const key = await this.call(() => this.service.getUserDelegationKey(new Date(now - 10_000), new Date(expires)));
      this.delegationKey = { key, expires };
    }
    return this.delegationKey.key;
  }

  /** One backend call under the shared policy (every call here sends nothing or a buffer). */
  private call<T>(call: () => Promise<T>): Promise<T> {
    return withRetry(call, { policy: this.retryPolicy, replayable: true, isTransient: isAzureTransient });
  }

  private notFound(error: unknown, path: string): unknown {
    return isAzureNotFound(error) ? new PathNotFoundError(path, this.name) : error;
  }

  private block(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.blobName(path));
  }

  private blobName(path: string): string {
    return this.prefix + path.slice(1);
  }

  private dirPrefix(path: string): string {
    return path === ROOT_PATH ? this.prefix : `${this.blobName(path)}/`;
  }

  private pathOf(name: string): string {
    return `/${name.slice(this.prefix.length)}`;
  }
}

function tokenCredential(params: AzureParams): TokenCredential {
  const credentials = params.credentials;
  if (credentials?.type === 'client_secret') {
    return new ClientSecretCredential(credentials.tenantid ?? '', credentials.clientid ?? '', credentials.secret ?? '');
  }
  return new DefaultAzureCredential();
}
