import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import OSS from 'ali-oss';
import type { DriverParams } from '../../params';
import { withRetry } from '../../retry';
import type { ListingPage, ObjectStore, OpenUpload, UploadedPart } from '../object-store/object-store';

export type OssParams = DriverParams<'oss'>;

function status(error: unknown): number | undefined {
  const value = (error as { status?: unknown }).status;
  return typeof value === 'number' ? value : undefined;
}

function isNotFound(error: unknown): boolean {
  return status(error) === 404 || (error as { code?: unknown }).code === 'NoSuchKey';
}

/**
 * The reference's endpoint choice (2.8 oss driver): `endpoint` when given, else the region's
 * public or (`internal`) intranet host; `secure` picks the scheme of a bare host.
 */
export function ossEndpoint(params: OssParams): string {
  const host = params.endpoint ?? `${params.region}${params.internal ? '-internal' : ''}.aliyuncs.com`;
  return /^https?:\/\//i.test(host) ? host : `${params.secure ? 'https' : 'http'}://${host}`;
}

/** Alibaba Cloud OSS through `ali-oss`, every call through the shared retry policy (ali-oss's own is off). */
export class OssObjects implements ObjectStore {
  private readonly client: OSS;
  /**
   * Signs redirect URLs. ali-oss refuses to for an IP endpoint, though the signature never
   * covers the host: there it signs for a placeholder host, which `signedUrl` swaps for the
   * endpoint (the URL then names no bucket, as for a custom domain).
   */
  private readonly signer: OSS;
  private readonly ipEndpoint: string | undefined;

  constructor(private readonly params: OssParams) {
    const options: OSS.Options = {
      accessKeyId: params.accesskeyid,
      accessKeySecret: params.accesskeysecret,
      bucket: params.bucket,
      region: params.region,
      endpoint: ossEndpoint(params),
      secure: params.secure,
      timeout: 5 * 60_000,
    };
    this.client = new OSS(options);
    const endpoint = new URL(ossEndpoint(params));
    this.ipEndpoint = isIP(endpoint.hostname.replace(/^\[|\]$/g, '')) ? endpoint.origin : undefined;
    this.signer = this.ipEndpoint === undefined ? this.client : new OSS({ ...options, endpoint: 'http://ip-endpoint.invalid', cname: true });
  }

  private call<T>(send: () => Promise<T>): Promise<T> {
    return withRetry(send, { replayable: true });
  }

  private headers(): Record<string, string> {
    if (!this.params.encrypt) return {};
    const { encryptionkeyid } = this.params;
    return encryptionkeyid === undefined
      ? { 'x-oss-server-side-encryption': 'AES256' }
      : { 'x-oss-server-side-encryption': 'KMS', 'x-oss-server-side-encryption-key-id': encryptionkeyid };
  }

  async checkBucket(): Promise<void> {
    await this.call(() => this.client.listV2({ 'max-keys': 1 }, {}));
  }

  async head(key: string): Promise<{ size: number; modTime: Date } | undefined> {
    try {
      const head = await this.call(() => this.client.head(key));
      const headers = head.res.headers as Record<string, string | undefined>;
      return { size: Number(headers['content-length'] ?? 0), modTime: new Date(headers['last-modified'] ?? 0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async getObject(key: string): Promise<Buffer | undefined> {
    try {
      const result = await this.call(() => this.client.get(key));
      return Buffer.isBuffer(result.content) ? result.content : Buffer.from(result.content as Uint8Array);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readObject(key: string, offset: number): Promise<Readable | undefined | 'unsatisfiable'> {
    try {
      const result = await this.call(() => this.client.getStream(key, offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {}));
      return result.stream as Readable;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (status(error) === 416) return 'unsatisfiable';
      throw error;
    }
  }

  async putObject(key: string, body: Buffer): Promise<void> {
    await this.call(() => this.client.put(key, body, { mime: 'application/octet-stream', headers: this.headers() }));
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.call(() => this.client.delete(key));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteObjects(keys: string[]): Promise<void> {
    // OSS takes at most 1,000 keys per request.
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      await this.call(() => this.client.deleteMulti(batch, { quiet: true }));
    }
  }

  async copyObject(source: string, dest: string): Promise<void> {
    await this.call(() => this.client.copy(dest, source, { headers: this.headers() }));
  }

  async *listPages(prefix: string, options: { delimiter?: string; maxKeys?: number } = {}): AsyncGenerator<ListingPage> {
    let token: string | undefined;
    do {
      const query: OSS.ListV2ObjectsQuery = { prefix, 'max-keys': options.maxKeys ?? 1000 };
      if (options.delimiter !== undefined) query.delimiter = options.delimiter;
      if (token !== undefined) query['continuation-token'] = token;
      const page = await this.call(() => this.client.listV2(query, {}));
      yield {
        objects: (page.objects ?? []).map((object) => ({ key: object.name, size: Number(object.size), modTime: new Date(object.lastModified) })),
        prefixes: page.prefixes ?? [],
      };
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async listUploads(prefix: string): Promise<OpenUpload[]> {
    const uploads: OpenUpload[] = [];
    const query: OSS.ListUploadsQuery = { prefix, 'max-uploads': 1000 };
    for (;;) {
      const page = await this.call(() => this.client.listUploads(query, {}));
      for (const upload of page.uploads ?? []) uploads.push({ key: upload.name, uploadId: upload.uploadId, initiated: new Date(upload.initiated as string) });
      if (!page.isTruncated) return uploads;
      query['key-marker'] = page.nextKeyMarker as string;
      query['upload-id-marker'] = page.nextUploadIdMarker as string;
    }
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: number | undefined;
    for (;;) {
      const query = { 'max-parts': 1000, ...(marker === undefined ? {} : { 'part-number-marker': marker }) } as OSS.ListPartsQuery;
      const page = await this.call(() => this.client.listParts(key, uploadId, query, {}));
      // ali-oss hands ListParts over as parsed: one part is an object, not a list; sizes and flags are text.
      const listed = (page.parts as unknown as Array<{ PartNumber: string; ETag: string; Size: string }> | { PartNumber: string; ETag: string; Size: string } | undefined) ?? [];
      for (const part of Array.isArray(listed) ? listed : [listed]) parts.push({ number: Number(part.PartNumber), etag: part.ETag, size: Number(part.Size) });
      if (String(page.isTruncated) !== 'true') return parts.sort((a, b) => a.number - b.number);
      marker = Number(page.nextPartNumberMarker);
    }
  }

  async createUpload(key: string): Promise<string> {
    const created = await this.call(() => this.client.initMultipartUpload(key, { mime: 'application/octet-stream', headers: this.headers() }));
    return created.uploadId;
  }

  async uploadPart(key: string, uploadId: string, number: number, body: Buffer): Promise<UploadedPart> {
    // ali-oss reads the buffer afresh on every call, so a retry sends it whole again.
    const uploaded = await this.call(() => this.client.uploadPart(key, uploadId, number, body, 0, body.length));
    return { number, etag: uploaded.etag, size: body.length };
  }

  async copyPart(key: string, uploadId: string, number: number, source: string, size: number, start?: number): Promise<UploadedPart> {
    const range = start === undefined ? '' : `${start}-${start + size - 1}`;
    const copied = await this.call(() => this.client.uploadPartCopy(key, uploadId, number, range, { sourceKey: source, sourceBucketName: this.params.bucket }, {}));
    return { number, etag: copied.etag, size };
  }

  async completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const sorted = [...parts].sort((a, b) => a.number - b.number).map((part) => ({ number: part.number, etag: part.etag }));
    await this.call(() => this.client.completeMultipartUpload(key, uploadId, sorted));
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.call(() => this.client.abortMultipartUpload(key, uploadId));
    } catch (error) {
      if (!isNotFound(error) && (error as { code?: unknown }).code !== 'NoSuchUpload') throw error;
    }
  }

  signedUrl(key: string, method: 'GET' | 'HEAD', expiresSeconds: number): Promise<string> {
    // ali-oss signs any method; its types list HEAD nowhere.
    const url = this.signer.signatureUrl(key, { method: method as 'GET', expires: expiresSeconds });
    return Promise.resolve(this.ipEndpoint === undefined ? url : url.replace('http://ip-endpoint.invalid', this.ipEndpoint));
  }
}
