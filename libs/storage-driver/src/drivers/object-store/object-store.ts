import type { Readable } from 'node:stream';

export interface UploadedPart {
  number: number;
  etag: string;
  size: number;
}

export interface StoredObject {
  key: string;
  size: number;
  modTime: Date;
}

/** One page of a listing: objects, and with a delimiter the common prefixes (ending in it). */
export interface ListingPage {
  objects: StoredObject[];
  prefixes: string[];
}

export interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * What the object-store driver needs of a backend with S3's model (flat keys, listings by
 * prefix and delimiter, multipart uploads): S3 itself and Alibaba OSS, whose API is S3's in
 * all but names. Each implementation sends its calls through the shared retry policy.
 */
export interface ObjectStore {
  /** Proves that the bucket is there and the credentials open it. */
  checkBucket(): Promise<void>;
  /** Metadata, or undefined when the key is not there. */
  head(key: string): Promise<{ size: number; modTime: Date } | undefined>;
  /** The whole object, or undefined when the key is not there. */
  getObject(key: string): Promise<Buffer | undefined>;
  /** The object from `offset`: undefined when missing, 'unsatisfiable' when the offset is at or past its end. */
  readObject(key: string, offset: number): Promise<Readable | undefined | 'unsatisfiable'>;
  putObject(key: string, body: Buffer): Promise<void>;
  deleteObject(key: string): Promise<void>;
  deleteObjects(keys: string[]): Promise<void>;
  copyObject(source: string, dest: string): Promise<void>;
  listPages(prefix: string, options?: { delimiter?: string; maxKeys?: number }): AsyncGenerator<ListingPage>;
  /** Open multipart uploads of keys starting with `prefix`. */
  listUploads(prefix: string): Promise<OpenUpload[]>;
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  createUpload(key: string): Promise<string>;
  uploadPart(key: string, uploadId: string, number: number, body: Buffer): Promise<UploadedPart>;
  /** Part `number`: bytes `[start, start + size)` of `source`, or all of it without `start`. */
  copyPart(key: string, uploadId: string, number: number, source: string, size: number, start?: number): Promise<UploadedPart>;
  completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  /** Aborts the upload; one already gone is no error. */
  abortUpload(key: string, uploadId: string): Promise<void>;
  signedUrl(key: string, method: 'GET' | 'HEAD', expiresSeconds: number): Promise<string>;
}

/** The uploads of exactly `key`, latest last. */
export async function uploadsOf(store: ObjectStore, key: string): Promise<OpenUpload[]> {
  const uploads = (await store.listUploads(key)).filter((upload) => upload.key === key);
  return uploads.sort((a, b) => a.initiated.getTime() - b.initiated.getTime());
}

export async function abortUploadsOf(store: ObjectStore, key: string): Promise<void> {
  for (const upload of await uploadsOf(store, key)) await store.abortUpload(key, upload.uploadId);
}
