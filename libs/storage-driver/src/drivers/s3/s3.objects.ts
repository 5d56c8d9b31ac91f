import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { withRetry } from '../../retry';
import type { ListingPage, ObjectStore, OpenUpload, UploadedPart } from '../object-store/object-store';
import type { S3Params } from './s3.client';

/** The object's key is not there (NoSuchKey, NotFound, a 404 of a HEAD that has no body to name it). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * The S3 calls the driver makes, each through the shared retry policy (every body here is a
 * buffer, so every call may be sent again), with the reference's object attributes: content
 * type, ACL, encryption and storage class.
 */
export class S3Objects implements ObjectStore {
  constructor(
    readonly client: S3Client,
    private readonly params: S3Params,
    /** Signs redirect URLs: the client of `redirectendpoint` where one is given. */
    private readonly presigner: S3Client = client,
  ) {}

  get bucket(): string {
    return this.params.bucket;
  }

  call<T>(send: () => Promise<T>): Promise<T> {
    return withRetry(send, { replayable: true });
  }

  private attributes() {
    const { encrypt, keyid, storageclass, objectacl } = this.params;
    return {
      ContentType: 'application/octet-stream',
      ACL: objectacl,
      ServerSideEncryption: encrypt ? (keyid !== undefined ? ('aws:kms' as const) : ('AES256' as const)) : undefined,
      SSEKMSKeyId: encrypt ? keyid : undefined,
      StorageClass: storageclass === 'NONE' ? undefined : storageclass,
    };
  }

  async head(key: string): Promise<{ size: number; modTime: Date } | undefined> {
    try {
      const head = await this.call(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { size: head.ContentLength ?? 0, modTime: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async checkBucket(): Promise<void> {
    await this.call(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async getObject(key: string): Promise<Buffer | undefined> {
    try {
      const response = await this.call(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      return response.Body ? Buffer.from(await response.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readObject(key: string, offset: number): Promise<Readable | undefined | 'unsatisfiable'> {
    try {
      const response = await this.call(() =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: offset > 0 ? `bytes=${offset}-` : undefined })),
      );
      return response.Body instanceof Readable ? response.Body : Readable.from([]);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) return 'unsatisfiable';
      throw error;
    }
  }

  signedUrl(key: string, method: 'GET' | 'HEAD', expiresSeconds: number): Promise<string> {
    const input = { Bucket: this.bucket, Key: key };
    return getSignedUrl(this.presigner, method === 'GET' ? new GetObjectCommand(input) : new HeadObjectCommand(input), { expiresIn: expiresSeconds });
  }

  async putObject(key: string, body: Buffer): Promise<void> {
    await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...this.attributes() })));
  }

  async deleteObject(key: string): Promise<void> {
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async deleteObjects(keys: string[]): Promise<void> {
    // S3 takes at most 1,000 keys per request.
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000).map((Key) => ({ Key }));
      const result = await this.call(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } })));
      const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`DeleteObjects refused ${failed.length} keys, first ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }

  async copyObject(source: string, dest: string): Promise<void> {
    await this.call(() =>
      this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: dest, CopySource: this.copySource(source), ...this.attributes() })),
    );
  }

  /** Keys are `[A-Za-z0-9._/-]` (the path grammar): nothing to escape. */
  copySource(key: string): string {
    return `${this.bucket}/${key}`;
  }

  /** Pages of a listing below `prefix`, with `delimiter` one level only. */
  async *listPages(prefix: string, options: { delimiter?: string; maxKeys?: number } = {}): AsyncGenerator<ListingPage> {
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: options.delimiter, MaxKeys: options.maxKeys ?? 1000, ContinuationToken: token }),
        ),
      );
      yield {
        objects: (page.Contents ?? []).map((object) => ({ key: object.Key ?? '', size: object.Size ?? 0, modTime: object.LastModified ?? new Date(0) })),
        prefixes: (page.CommonPrefixes ?? []).map((common) => common.Prefix ?? ''),
      };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Multipart uploads whose key starts with `prefix`, oldest first per key. */
  async listUploads(prefix: string): Promise<OpenUpload[]> {
    const uploads: OpenUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call(() =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const upload of page.Uploads ?? []) uploads.push({ key: upload.Key ?? '', uploadId: upload.UploadId ?? '', initiated: upload.Initiated ?? new Date(0) });
      if (!page.IsTruncated) return uploads;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.call(() => this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker })));
      for (const part of page.Parts ?? []) parts.push({ number: part.PartNumber ?? 0, etag: part.ETag ?? '', size: part.Size ?? 0 });
      if (!page.IsTruncated) return parts.sort((a, b) => a.number - b.number);
      marker = page.NextPartNumberMarker;
    }
  }

  async createUpload(key: string): Promise<string> {
    const created = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...this.attributes() })));
    if (created.UploadId === undefined) throw new Error(`CreateMultipartUpload for ${key} answered no UploadId`);
    return created.UploadId;
  }

  async uploadPart(key: string, uploadId: string, number: number, body: Buffer): Promise<UploadedPart> {
    const uploaded = await this.call(() =>
      this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: body, ContentLength: body.length })),
    );
    return { number, etag: uploaded.ETag ?? '', size: body.length };
  }

  /** Part `number` of the upload: bytes `[start, start + size)` of `source`, or all of it. */
  async copyPart(key: string, uploadId: string, number: number, source: string, size: number, start?: number): Promise<UploadedPart> {
    const range = start === undefined ? undefined : `bytes=${start}-${start + size - 1}`;
    const copied = await this.call(() =>
      this.client.send(
        new UploadPartCopyCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: number, CopySource: this.copySource(source), CopySourceRange: range }),
      ),
    );
    return { number, etag: copied.CopyPartResult?.ETag ?? '', size };
  }

  async completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const Parts = [...parts].sort((a, b) => a.number - b.number).map((part) => ({ PartNumber: part.number, ETag: part.etag }));
    await this.call(() => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts } })));
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.call(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })));
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'NoSuchUpload' && !isNotFound(error)) throw error;
    }
  }
}
