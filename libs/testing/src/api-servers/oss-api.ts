import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiTestServer } from './api-test-server';
import { drain, readSmallBody, receiveToFile } from './request-body';

export interface OssApiOptions {
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** What a test may ask the server (OssApiServer's methods). */
export type OssQuestions = OssApi['questions'];

/**
 * A small OSS server for tests only — no OSS server or emulator runs here (issue 17). It
 * implements the part of Alibaba Cloud's documented OSS REST API that the `oss` driver
 * sends (bucket in the Host header, as ali-oss sends to an IP endpoint, or path-style): PutObject,
 * GetObject (Range), HeadObject, DeleteObject, DeleteMultipleObjects, CopyObject, ListObjectsV2,
 * InitiateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, ListMultipartUploads, ListParts, and signed URLs. Every request must
 * carry a valid OSS signature (header or URL, Signature Version 1), so a driver that signs
 * wrong fails here as it would on OSS. It runs in a process of its own (OssApiServer starts it);
 * bytes live in files under `directory`, streamed both ways, so its memory stays small.
 */
export class OssApi extends ApiTestServer {
  private readonly bucket: string;
  private readonly accessKeyId: string;
  private readonly accessKeySecret: string;
  private readonly objects = new Map<string, { file: string; size: number; modTime: Date; etag: string }>();
  private readonly uploads = new Map<string, { key: string; initiated: Date; parts: Map<number, { file: string; size: number; etag: string; modTime: Date }> }>();
  /** Requests answered, by API name, for tests that look at what the driver sent. */
  private readonly calls = new Map<string, number>();

  constructor(directory: string, options: OssApiOptions) {
    super(directory);
    this.bucket = options.bucket;
    this.accessKeyId = options.accessKeyId;
    this.accessKeySecret = options.accessKeySecret;
  }

  readonly questions = {
    /** Open multipart uploads, as ListMultipartUploads would answer them. */
    openUploads: (): Array<{ key: string; uploadId: string }> => [...this.uploads].map(([uploadId, upload]) => ({ key: upload.key, uploadId })),
    calls: (): Record<string, number> => Object.fromEntries(this.calls),
    /** The size on disk of every stored byte, for tests that check nothing is left. */
    storedBytes: async (): Promise<number> => {
      let total = 0;
      for (const object of this.objects.values()) total += (await stat(object.file)).size;
      return total;
    },
  };

  protected internalError(res: ServerResponse, error: unknown): void {
    this.error(res, 500, 'InternalError', String(error));
  }

  private count(api: string): void {
    this.calls.set(api, (this.calls.get(api) ?? 0) + 1);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://oss');
    // ali-oss sends an IP endpoint's requests with the bucket in the Host header
    // (`<bucket>.<region>.aliyuncs.com`); path-style is taken too.
    const host = String(req.headers.host ?? '');
    const hostStyle = host.startsWith(`${this.bucket}.`);
    const segments = url.pathname.split('/').slice(1);
    // A URL ali-oss signs for an IP endpoint names no bucket at all (`cname`): the one bucket here.
    const bucket = hostStyle || segments[0] !== this.bucket ? this.bucket : (segments.shift() ?? '');
    const key = decodeURIComponent(segments.join('/'));
    const query = url.searchParams;
    if (!this.authorized(req, url, bucket, key)) {
      await drain(req);
      this.error(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    const method = req.method ?? 'GET';
    if (key === '') {
      if (method === 'GET' && query.has('uploads')) return this.listUploads(res, query);
      if (method === 'GET') return this.listObjects(res, query);
      if (method === 'POST' && query.has('delete')) return this.deleteMultiple(req, res);
    } else {
      const uploadId = query.get('uploadId');
      if (method === 'POST' && query.has('uploads')) return this.initiate(res, key);
      if (method === 'PUT' && uploadId !== null) return this.uploadPart(req, res, key, uploadId, Number(query.get('partNumber')));
      if (method === 'POST' && uploadId !== null) return this.complete(req, res, key, uploadId);
      if (method === 'DELETE' && uploadId !== null) return this.abort(res, uploadId);
      if (method === 'GET' && uploadId !== null) return this.listParts(res, uploadId, query);
      if (method === 'PUT') return this.put(req, res, key);
      if (method === 'GET' || method === 'HEAD') return this.get(req, res, key, method === 'HEAD');
      if (method === 'DELETE') return this.delete(res, key);
    }
    await drain(req);
    this.error(res, 400, 'InvalidRequest', `${method} ${url.pathname}${url.search} is not in this test server's subset`);
  }

  /** OSS Signature Version 1: HMAC-SHA1 over verb, MD5, type, date (or Expires), x-oss-* headers and resource. */
  private authorized(req: IncomingMessage, url: URL, bucket: string, key: string): boolean {
    const subresources = ['acl', 'uploads', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'delete', 'append', 'tagging', 'objectMeta', 'uploadId', 'partNumber', 'security-token', 'position', 'img', 'style', 'styleName', 'replication', 'replicationProgress', 'replicationLocation', 'cname', 'bucketInfo', 'comp', 'qos', 'live', 'status', 'vod', 'startTime', 'endTime', 'symlink', 'x-oss-process', 'response-content-type', 'response-content-language', 'response-expires', 'response-cache-control', 'response-content-disposition', 'response-content-encoding', 'udf', 'udfName', 'udfImage', 'udfId', 'udfImageDesc', 'udfApplication', 'udfApplicationLog', 'restore', 'callback', 'callback-var', 'policy', 'encryption', 'versions', 'versioning', 'versionId', 'sequential', 'continuation-token', 'regionList', 'cloudboxes', 'inventory', 'inventoryId', 'worm', 'wormId', 'wormExtend'];
    const sub = [...url.searchParams.keys()].filter((name) => subresources.includes(name)).sort();
    const resource = `/${bucket}/${key}` + (sub.length ? `?${sub.map((name) => (url.searchParams.get(name) ? `${name}=${url.searchParams.get(name)}` : name)).join('&')}` : '');
    const ossHeaders = Object.keys(req.headers)
      .filter((name) => name.startsWith('x-oss-'))
      .sort()
      .map((name) => `${name}:${String(req.headers[name]).trim()}\n`)
      .join('');
    const header = req.headers.authorization;
    let signature: string | undefined;
    let date: string;
    if (header !== undefined) {
      const match = /^OSS ([^:]+):(.+)$/.exec(header);
      if (match?.[1] !== this.accessKeyId) return false;
      signature = match[2];
      date = String(req.headers['x-oss-date'] ?? req.headers.date ?? '');
    } else {
      if (url.searchParams.get('OSSAccessKeyId') !== this.accessKeyId) return false;
      const expires = Number(url.searchParams.get('Expires'));
      if (!(expires * 1000 > Date.now())) return false;
      signature = url.searchParams.get('Signature') ?? undefined;
      date = String(expires);
    }
    const text = [req.method, req.headers['content-md5'] ?? '', req.headers['content-type'] ?? '', date].join('\n') + '\n' + ossHeaders + resource;
    return signature === createHmac('sha1', this.accessKeySecret).update(text).digest('base64');
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-oss-request-id': randomBytes(8).toString('hex') });
    res.end(res.req.method === 'HEAD' ? undefined : xml('Error', `<Code>${code}</Code><Message>${escape(message)}</Message>`));
  }

  private xmlReply(res: ServerResponse, root: string, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(200, { 'content-type': 'application/xml', 'x-oss-request-id': randomBytes(8).toString('hex'), ...headers });
    res.end(xml(root, body));
  }

  /** Streams the body into a new file, hashing it: the ETag is its MD5, as OSS's for a simple upload. */
  private async receive(req: IncomingMessage): Promise<{ file: string; size: number; etag: string }> {
    const file = join(this.directory, randomBytes(12).toString('hex'));
    const { size, md5 } = await receiveToFile(req, file);
    return { file, size, etag: `"${md5.toString('hex').toUpperCase()}"` };
  }

  private async replace(key: string, entry: { file: string; size: number; etag: string }): Promise<void> {
    const old = this.objects.get(key);
    this.objects.set(key, { ...entry, modTime: new Date() });
    if (old !== undefined) await unlink(old.file).catch(() => undefined);
  }

  private copySource(req: IncomingMessage): string | undefined {
    const source = req.headers['x-oss-copy-source'];
    if (typeof source !== 'string') return undefined;
    const [, bucket = '', ...rest] = source.split('/');
    return bucket === this.bucket ? decodeURIComponent(rest.join('/')) : undefined;
  }

  private async put(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const source = req.headers['x-oss-copy-source'] === undefined ? undefined : this.copySource(req);
    if (req.headers['x-oss-copy-source'] !== undefined) {
      this.count('CopyObject');
      await drain(req);
      const from = source === undefined ? undefined : this.objects.get(source);
      if (from === undefined) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      const file = join(this.directory, randomBytes(12).toString('hex'));
      await pipeline(createReadStream(from.file), createWriteStream(file));
      await this.replace(key, { file, size: from.size, etag: from.etag });
      return this.xmlReply(res, 'CopyObjectResult', `<ETag>${from.etag}</ETag><LastModified>${new Date().toISOString()}</LastModified>`);
    }
    this.count('PutObject');
    const entry = await this.receive(req);
    await this.replace(key, entry);
    res.writeHead(200, { etag: entry.etag });
    res.end();
  }

  private async get(req: IncomingMessage, res: ServerResponse, key: string, headOnly: boolean): Promise<void> {
    this.count(headOnly ? 'HeadObject' : 'GetObject');
    await drain(req);
    const object = this.objects.get(key);
    if (object === undefined) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const headers: Record<string, string | number> = { etag: object.etag, 'last-modified': object.modTime.toUTCString(), 'content-type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    let start = 0;
    let end = object.size - 1;
    if (range !== null && !headOnly) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= object.size) return this.error(res, 416, 'InvalidRange', 'The requested range cannot be satisfied.');
      headers['content-range'] = `bytes ${start}-${end}/${object.size}`;
    }
    headers['content-length'] = end - start + 1;
    res.writeHead(range !== null && !headOnly ? 206 : 200, headers);
    if (headOnly || object.size === 0) return void res.end();
    await pipeline(createReadStream(object.file, { start, end }), res);
  }

  private async delete(res: ServerResponse, key: string): Promise<void> {
    this.count('DeleteObject');
    const old = this.objects.get(key);
    this.objects.delete(key);
    if (old !== undefined) await unlink(old.file).catch(() => undefined);
    res.writeHead(204);
    res.end();
  }

  private async deleteMultiple(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.count('DeleteMultipleObjects');
    const body = (await readSmallBody(req)).toString();
    const md5 = createHash('md5').update(body).digest('base64');
    if (req.headers['content-md5'] !== md5) return this.error(res, 400, 'InvalidDigest', 'Content-MD5 is missing or wrong');
    for (const match of body.matchAll(/<Key>([^<]*)<\/Key>/g)) {
      const key = unescape(match[1] ?? '');
      const old = this.objects.get(key);
      this.objects.delete(key);
      if (old !== undefined) await unlink(old.file).catch(() => undefined);
    }
    this.xmlReply(res, 'DeleteResult', '');
  }

  private listObjects(res: ServerResponse, query: URLSearchParams): void {
    this.count('ListObjectsV2');
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const max = Number(query.get('max-keys') ?? 100);
    const after = query.get('continuation-token') ?? '';
    const entries: Array<{ name: string; prefix: boolean }> = [];
    const seen = new Set<string>();
    for (const key of [...this.objects.keys()].sort()) {
      if (!key.startsWith(prefix)) continue;
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const name = cut < 0 ? key : key.slice(0, cut + delimiter.length);
      if (name <= after || seen.has(name)) continue;
      seen.add(name);
      entries.push({ name, prefix: cut >= 0 });
    }
    const page = entries.slice(0, max);
    const truncated = entries.length > max;
    const contents = page
      .filter((entry) => !entry.prefix)
      .map((entry) => {
        const object = this.objects.get(entry.name)!;
        return `<Contents><Key>${escape(entry.name)}</Key><LastModified>${object.modTime.toISOString()}</LastModified><ETag>${object.etag}</ETag><Type>Normal</Type><Size>${object.size}</Size><StorageClass>Standard</StorageClass></Contents>`;
      })
      .join('');
    const prefixes = page
      .filter((entry) => entry.prefix)
      .map((entry) => `<CommonPrefixes><Prefix>${escape(entry.name)}</Prefix></CommonPrefixes>`)
      .join('');
    const next = truncated ? `<NextContinuationToken>${escape(page.at(-1)!.name)}</NextContinuationToken>` : '';
    this.xmlReply(
      res,
      'ListBucketResult',
      `<Name>${this.bucket}</Name><Prefix>${escape(prefix)}</Prefix><MaxKeys>${max}</MaxKeys><Delimiter>${escape(delimiter)}</Delimiter><IsTruncated>${truncated}</IsTruncated>${next}<KeyCount>${page.length}</KeyCount>${contents}${prefixes}`,
    );
  }

  private initiate(res: ServerResponse, key: string): void {
    this.count('InitiateMultipartUpload');
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    this.uploads.set(uploadId, { key, initiated: new Date(), parts: new Map() });
    this.xmlReply(res, 'InitiateMultipartUploadResult', `<Bucket>${this.bucket}</Bucket><Key>${escape(key)}</Key><UploadId>${uploadId}</UploadId>`);
  }

  private async uploadPart(req: IncomingMessage, res: ServerResponse, key: string, uploadId: string, number: number): Promise<void> {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) {
      await drain(req);
      return this.error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    }
    let part: { file: string; size: number; etag: string };
    if (req.headers['x-oss-copy-source'] !== undefined) {
      this.count('UploadPartCopy');
      await drain(req);
      const source = this.copySource(req);
      const from = source === undefined ? undefined : this.objects.get(source);
      if (from === undefined) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers['x-oss-copy-source-range'] ?? ''));
      const start = range ? Number(range[1]) : 0;
      const end = range ? Number(range[2]) : from.size - 1;
      const file = join(this.directory, randomBytes(12).toString('hex'));
      const md5 = createHash('md5');
      const reader = createReadStream(from.file, { start, end });
      reader.on('data', (chunk) => md5.update(chunk));
      await pipeline(reader, createWriteStream(file));
      part = { file, size: end - start + 1, etag: `"${md5.digest('hex').toUpperCase()}"` };
    } else {
      this.count('UploadPart');
      part = await this.receive(req);
    }
    const old = upload.parts.get(number);
    upload.parts.set(number, { ...part, modTime: new Date() });
    if (old !== undefined) await unlink(old.file).catch(() => undefined);
    if (req.headers['x-oss-copy-source'] !== undefined) {
      return this.xmlReply(res, 'CopyPartResult', `<LastModified>${new Date().toISOString()}</LastModified><ETag>${part.etag}</ETag>`, { etag: part.etag });
    }
    res.writeHead(200, { etag: part.etag });
    res.end();
  }

  private async complete(req: IncomingMessage, res: ServerResponse, key: string, uploadId: string): Promise<void> {
    this.count('CompleteMultipartUpload');
    const body = (await readSmallBody(req)).toString();
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) return this.error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    const listed = [...body.matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]*)<\/ETag>\s*<\/Part>/g)].map((m) => ({ number: Number(m[1]), etag: unescape(m[2] ?? '') }));
    const file = join(this.directory, randomBytes(12).toString('hex'));
    const out = createWriteStream(file);
    let size = 0;
    for (const [index, entry] of listed.entries()) {
      const part = upload.parts.get(entry.number);
      if (part === undefined || part.etag.replaceAll('"', '') !== entry.etag.replaceAll('"', '')) {
        out.destroy();
        await unlink(file).catch(() => undefined);
        return this.error(res, 400, 'InvalidPart', `part ${entry.number} was not uploaded or its ETag differs`);
      }
      // OSS's rule: every part but the last is 100 KiB at least.
      if (index < listed.length - 1 && part.size < 100 * 1024) {
        out.destroy();
        await unlink(file).catch(() => undefined);
        return this.error(res, 400, 'EntityTooSmall', `part ${entry.number} is ${part.size} bytes`);
      }
      await pipeline(createReadStream(part.file), out, { end: false });
      size += part.size;
    }
    out.end();
    await new Promise<void>((resolve, reject) => out.on('close', resolve).on('error', reject));
    for (const part of upload.parts.values()) await unlink(part.file).catch(() => undefined);
    this.uploads.delete(uploadId);
    const etag = `"${createHash('md5').update(uploadId).digest('hex').toUpperCase()}-${listed.length}"`;
    await this.replace(key, { file, size, etag });
    this.xmlReply(res, 'CompleteMultipartUploadResult', `<Bucket>${this.bucket}</Bucket><Key>${escape(key)}</Key><ETag>${etag}</ETag>`);
  }

  private async abort(res: ServerResponse, uploadId: string): Promise<void> {
    this.count('AbortMultipartUpload');
    const upload = this.uploads.get(uploadId);
    if (upload === undefined) return this.error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    for (const part of upload.parts.values()) await unlink(part.file).catch(() => undefined);
    this.uploads.delete(uploadId);
    res.writeHead(204);
    res.end();
  }

  private listUploads(res: ServerResponse, query: URLSearchParams): void {
    this.count('ListMultipartUploads');
    const prefix = query.get('prefix') ?? '';
    const entries = [...this.uploads]
      .filter(([, upload]) => upload.key.startsWith(prefix))
      .sort(([idA, a], [idB, b]) => (a.key === b.key ? a.initiated.getTime() - b.initiated.getTime() || (idA < idB ? -1 : 1) : a.key < b.key ? -1 : 1));
    const uploads = entries.map(([id, upload]) => `<Upload><Key>${escape(upload.key)}</Key><UploadId>${id}</UploadId><Initiated>${upload.initiated.toISOString()}</Initiated></Upload>`).join('');
    this.xmlReply(res, 'ListMultipartUploadsResult', `<Bucket>${this.bucket}</Bucket><Prefix>${escape(prefix)}</Prefix><IsTruncated>false</IsTruncated>${uploads}`);
  }

  private listParts(res: ServerResponse, uploadId: string, query: URLSearchParams): void {
    this.count('ListParts');
    const upload = this.uploads.get(uploadId);
    if (upload === undefined) return this.error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    const marker = Number(query.get('part-number-marker') ?? 0);
    const parts = [...upload.parts]
      .filter(([number]) => number > marker)
      .sort(([a], [b]) => a - b)
      .map(([number, part]) => `<Part><PartNumber>${number}</PartNumber><LastModified>${part.modTime.toISOString()}</LastModified><ETag>${part.etag}</ETag><Size>${part.size}</Size></Part>`)
      .join('');
    this.xmlReply(res, 'ListPartsResult', `<Bucket>${this.bucket}</Bucket><Key>${escape(upload.key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts}`);
  }
}

function xml(root: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${body}</${root}>`;
}

function escape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function unescape(value: string): string {
  return value.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}
