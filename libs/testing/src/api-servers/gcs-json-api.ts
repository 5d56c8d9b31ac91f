import { createHash, createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiTestServer } from './api-test-server';
import { drain, type MultipartEvent, multipartEvents, readSmallBody, receiveToFile } from './request-body';

/** One stored object: its bytes live in a file, named by generation. */
interface StoredObject {
  bucket: string;
  name: string;
  generation: number;
  size: number;
  contentType: string;
  updated: Date;
  md5?: string;
  componentCount?: number;
}

/** A resumable upload session: the bytes persisted so far sit in its own file. */
interface Session {
  id: string;
  bucket: string;
  name: string;
  contentType: string;
  size: number;
  file: string;
  ifGenerationMatch?: number;
}

/** A request the server saw, for tests that look at what the driver sent. */
export interface GcsRequest {
  method: string;
  url: string;
}

export interface GcsJsonApiOptions {
  buckets: string[];
  /** The service account whose V4 signed URLs are served: its e-mail and public key (PEM). */
  signer?: { email: string; publicKey: string };
}

/** What a test may ask the server (GcsJsonApiServer's methods). */
export type GcsQuestions = GcsJsonApi['questions'];

const CHUNK_UNIT = 256 * 1024;

/**
 * The subset of Google Cloud Storage's JSON API that the gcs driver uses, as documented
 * (cloud.google.com/storage/docs/json_api): bucket get; object list (prefix, delimiter, pages),
 * get (metadata and `alt=media` with ranges and `generation`), delete, multipart upload,
 * resumable upload sessions (chunks in 256 KiB units, `308` with `Range`, status queries,
 * cancel with DELETE answered 499), compose and rewrite, all with `ifGenerationMatch`; and
 * V4 signed URLs, whose RSA signature it verifies against the service account's public key.
 *
 * No GCS emulator runs here (firebase-tools' needs Java 21 and a jar from Google), so the
 * driver's suite runs against this, in a process of its own (GcsJsonApiServer starts it). It is
 * a test fixture, never part of the product. Bytes go to files under `directory`, streamed both
 * ways: no object body is ever held whole.
 */
export class GcsJsonApi extends ApiTestServer {
  private readonly requests: GcsRequest[] = [];
  private readonly objects = new Map<string, StoredObject>();
  private readonly sessions = new Map<string, Session>();
  private readonly buckets: Set<string>;
  private readonly signer: { email: string; publicKey: KeyObject } | undefined;
  private nextGeneration = Date.now() * 1000;

  constructor(directory: string, options: GcsJsonApiOptions) {
    super(directory);
    this.buckets = new Set(options.buckets);
    this.signer = options.signer && { email: options.signer.email, publicKey: createPublicKey(options.signer.publicKey) };
  }

  readonly questions = {
    requests: (): GcsRequest[] => this.requests,
    /** Resumable sessions neither finished nor cancelled: what a test proves is left behind. */
    openSessions: (): Array<{ bucket: string; name: string; size: number }> => [...this.sessions.values()].map(({ bucket, name, size }) => ({ bucket, name, size })),
    /** Every object name in `bucket`, private ones (`~…`) included. */
    objectNames: (bucket: string): string[] => this.objectNames(bucket),
  };

  private objectNames(bucket: string): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(`${bucket}/`)).map((key) => key.slice(bucket.length + 1)).sort();
  }

  protected internalError(res: ServerResponse, error: unknown): void {
    this.json(res, 500, { error: { code: 500, message: String(error) } });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const segments = url.pathname.split('/').slice(1);
    if (segments[0] === 'upload' && segments[1] === 'storage' && segments[2] === 'v1' && segments[3] === 'b' && segments[5] === 'o') {
      return this.upload(req, res, decodeURIComponent(segments[4] ?? ''), url, method);
    }
    if (segments[0] === 'storage' && segments[1] === 'v1' && segments[2] === 'b') {
      const bucket = decodeURIComponent(segments[3] ?? '');
      if (!this.buckets.has(bucket)) return this.json(res, 404, { error: { code: 404, message: `bucket ${bucket} not found` } });
      if (segments.length === 4 && method === 'GET') return this.json(res, 200, { kind: 'storage#bucket', name: bucket, updated: new Date().toISOString() });
      if (segments[4] !== 'o') return this.notFound(res);
      if (segments.length === 5 && method === 'GET') return this.list(res, bucket, url);
      const name = decodeURIComponent(segments[5] ?? '');
      if (segments.length === 6 && method === 'GET') return this.get(req, res, bucket, name, url);
      if (segments.length === 6 && method === 'DELETE') return this.remove(res, bucket, name, url);
      if (segments.length === 7 && segments[6] === 'compose' && method === 'POST') return this.compose(req, res, bucket, name, url);
      if (segments.length === 11 && (segments[6] === 'rewriteTo' || segments[6] === 'copyTo') && method === 'POST') {
        return this.rewrite(req, res, bucket, name, decodeURIComponent(segments[8] ?? ''), decodeURIComponent(segments[10] ?? ''), url);
      }
      return this.notFound(res);
    }
    // A signed URL: /<bucket>/<object>?X-Goog-Signature=…
    if (url.searchParams.has('X-Goog-Signature') && (method === 'GET' || method === 'HEAD')) return this.signedRead(req, res, url, segments);
    return this.notFound(res);
  }

  private list(res: ServerResponse, bucket: string, url: URL): void {
    const prefix = url.searchParams.get('prefix') ?? '';
    const delimiter = url.searchParams.get('delimiter') ?? '';
    const maxResults = Number(url.searchParams.get('maxResults') ?? 1000);
    const after = url.searchParams.get('pageToken') ?? '';
    const entries: Array<{ key: string; object?: StoredObject }> = [];
    const prefixes = new Set<string>();
    for (const name of this.objectNames(bucket)) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
      if (cut >= 0) {
        const sub = prefix + rest.slice(0, cut + delimiter.length);
        if (!prefixes.has(sub)) {
          prefixes.add(sub);
          entries.push({ key: sub });
        }
      } else {
        entries.push({ key: name, object: this.objects.get(`${bucket}/${name}`)! });
      }
    }
    const page = entries.filter((entry) => entry.key > after).slice(0, maxResults);
    const more = entries.filter((entry) => entry.key > after).length > page.length;
    const body: Record<string, unknown> = {
      kind: 'storage#objects',
      items: page.filter((entry) => entry.object).map((entry) => this.resource(bucket, entry.object!)),
      prefixes: page.filter((entry) => !entry.object).map((entry) => entry.key),
    };
    if (more) body.nextPageToken = page[page.length - 1]!.key;
    this.json(res, 200, body);
  }

  private async get(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, url: URL): Promise<void> {
    const generation = url.searchParams.get('generation');
    const find = (): StoredObject | undefined => {
      const object = this.objects.get(`${bucket}/${name}`);
      return object && (generation === null || Number(generation) === object.generation) ? object : undefined;
    };
    if (url.searchParams.get('alt') === 'media') return this.media(req, res, find);
    const object = find();
    return object ? this.json(res, 200, this.resource(bucket, object)) : this.notFound(res);
  }

  /** The bytes of the object `find` names, from one generation however often it is replaced meanwhile. */
  private async media(req: IncomingMessage, res: ServerResponse, find: () => StoredObject | undefined): Promise<void> {
    const opened = await this.openCurrent(find);
    if (opened === undefined) return this.notFound(res);
    try {
      return await this.sendMedia(req, res, opened.object, opened.file);
    } finally {
      await opened.file.close();
    }
  }

  /**
   * The object `find` names with its file open, or `undefined` if there is none. A new
   * generation removes the old one's file, which stays readable once open; a generation
   * replaced between the look-up and the open is looked up again (as GCS reads the newest).
   * Every read of an object's bytes goes through here: one that opened by path after an
   * `await` could find the file gone.
   */
  private async openCurrent(find: () => StoredObject | undefined): Promise<{ object: StoredObject; file: FileHandle } | undefined> {
    for (;;) {
      const object = find();
      if (object === undefined) return undefined;
      const file = await open(this.bytesFile(object)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (file !== undefined) return { object, file };
    }
  }

  private async sendMedia(req: IncomingMessage, res: ServerResponse, object: StoredObject, file: FileHandle): Promise<void> {
    let start = 0;
    let end = object.size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
      if (start >= object.size) {
        res.writeHead(416, { 'content-range': `bytes */${object.size}` });
        res.end();
        return;
      }
    }
    res.writeHead(range ? 206 : 200, {
      'content-type': object.contentType,
      'content-length': String(end - start + 1),
      'x-goog-generation': String(object.generation),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${object.size}` } : {}),
      ...(object.md5 ? { 'x-goog-hash': `md5=${object.md5}` } : {}),
    });
    if (req.method === 'HEAD' || object.size === 0) {
      res.end();
      return;
    }
    await pipeline(file.createReadStream({ start, end, autoClose: false }), res);
  }

  private remove(res: ServerResponse, bucket: string, name: string, url: URL): void {
    const object = this.objects.get(`${bucket}/${name}`);
    if (!object) return this.notFound(res);
    if (!this.preconditionHolds(url, object)) return this.preconditionFailed(res);
    this.objects.delete(`${bucket}/${name}`);
    void rm(this.bytesFile(object), { force: true });
    res.writeHead(204);
    res.end();
  }

  private async upload(req: IncomingMessage, res: ServerResponse, bucket: string, url: URL, method: string): Promise<void> {
    if (!this.buckets.has(bucket)) return this.json(res, 404, { error: { code: 404, message: `bucket ${bucket} not found` } });
    const uploadType = url.searchParams.get('uploadType');
    const sessionId = url.searchParams.get('upload_id');
    if (uploadType === 'resumable' && sessionId !== null) return this.sessionRequest(req, res, sessionId, method);
    if (method !== 'POST') return this.notFound(res);
    if (uploadType === 'multipart') return this.multipart(req, res, bucket, url);
    if (uploadType === 'resumable') {
      const metadata = JSON.parse((await readSmallBody(req)).toString('utf8') || '{}') as { name?: string; contentType?: string };
      const name = url.searchParams.get('name') ?? metadata.name;
      if (!name) return this.json(res, 400, { error: { code: 400, message: 'no object name' } });
      const id = randomBytes(12).toString('hex');
      const session: Session = {
        id,
        bucket,
        name,
        contentType: metadata.contentType ?? req.headers['x-upload-content-type']?.toString() ?? 'application/octet-stream',
        size: 0,
        file: join(this.directory, `session-${id}`),
      };
      const precondition = url.searchParams.get('ifGenerationMatch');
      if (precondition !== null) session.ifGenerationMatch = Number(precondition);
      await (await open(session.file, 'w')).close();
      this.sessions.set(id, session);
      res.writeHead(200, { location: `${this.url}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}` });
      res.end();
      return;
    }
    return this.json(res, 400, { error: { code: 400, message: `uploadType ${uploadType} is not served here` } });
  }

  private async sessionRequest(req: IncomingMessage, res: ServerResponse, id: string, method: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) {
      await drain(req);
      return this.json(res, 404, { error: { code: 404, message: 'no such upload session' } });
    }
    if (method === 'DELETE') {
      this.sessions.delete(id);
      await rm(session.file, { force: true });
      res.writeHead(499);
      res.end();
      return;
    }
    if (method !== 'PUT') return this.notFound(res);
    const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(req.headers['content-range']?.toString() ?? 'bytes */*');
    if (!range) {
      await drain(req);
      return this.json(res, 400, { error: { code: 400, message: 'bad Content-Range' } });
    }
    const total = range[3] === '*' ? undefined : Number(range[3]);
    if (range[1] !== undefined) {
      const first = Number(range[1]);
      const last = Number(range[2]);
      const length = last - first + 1;
      if (first > session.size) {
        await drain(req);
        return this.json(res, 400, { error: { code: 400, message: `chunk starts at ${first}, ${session.size} bytes persisted` } });
      }
      if (total === undefined && length % CHUNK_UNIT !== 0) {
        await drain(req);
        return this.json(res, 400, { error: { code: 400, message: 'a chunk that is not the last must be a multiple of 256 KiB' } });
      }
      // Bytes already persisted (a chunk sent again) are skipped; the rest is appended.
      const handle = await open(session.file, 'r+');
      try {
        let position = first;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          const skip = Math.max(0, Math.min(chunk.length, session.size - position));
          if (skip < chunk.length) await handle.write(chunk, skip, chunk.length - skip, position + skip);
          position += chunk.length;
        }
        session.size = Math.max(session.size, position);
      } finally {
        await handle.close();
      }
    } else {
      await drain(req);
    }
    if (total !== undefined && session.size === total) {
      const object = await this.store(session.bucket, session.name, session.file, session.contentType, session.ifGenerationMatch);
      this.sessions.delete(id);
      if (object === undefined) return this.preconditionFailed(res);
      return this.json(res, 200, this.resource(session.bucket, object));
    }
    res.writeHead(308, session.size > 0 ? { range: `bytes=0-${session.size - 1}` } : {});
    res.end();
  }

  /** A multipart upload: its first part the metadata (JSON), its second the media, streamed to a file. */
  private async multipart(req: IncomingMessage, res: ServerResponse, bucket: string, url: URL): Promise<void> {
    const boundary = /boundary=("?)([^";]+)\1/.exec(req.headers['content-type'] ?? '')?.[2];
    if (!boundary) {
      await drain(req);
      return this.json(res, 400, { error: { code: 400, message: 'no multipart boundary' } });
    }
    const staged = join(this.directory, `multipart-${randomBytes(8).toString('hex')}`);
    const received = await receiveMultipart(req, boundary, staged).catch(async (error: unknown) => {
      await rm(staged, { force: true });
      throw error;
    });
    const refuse = async (message: string) => {
      await rm(staged, { force: true });
      this.json(res, 400, { error: { code: 400, message } });
    };
    if (received.parts !== 2) return refuse(`expected 2 parts, got ${received.parts}`);
    const metadata = JSON.parse(received.metadata.toString('utf8')) as { name?: string; contentType?: string; md5Hash?: string };
    const name = url.searchParams.get('name') ?? metadata.name;
    if (!name) return refuse('no object name');
    if (metadata.md5Hash !== undefined && metadata.md5Hash !== received.md5) return refuse('md5 mismatch');
    const precondition = url.searchParams.get('ifGenerationMatch');
    const object = await this.store(
      bucket,
      name,
      staged,
      metadata.contentType ?? received.mediaType ?? 'application/octet-stream',
      precondition === null ? undefined : Number(precondition),
    );
    if (object === undefined) return this.preconditionFailed(res);
    this.json(res, 200, this.resource(bucket, object));
  }

  private async compose(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, url: URL): Promise<void> {
    const request = JSON.parse((await readSmallBody(req)).toString('utf8')) as {
      sourceObjects: Array<{ name: string }>;
      destination?: { contentType?: string };
    };
    if (request.sourceObjects.length > 32) return this.json(res, 400, { error: { code: 400, message: 'at most 32 source objects' } });
    const sources: { object: StoredObject; file: FileHandle }[] = [];
    const staged = join(this.directory, `compose-${randomBytes(8).toString('hex')}`);
    try {
      for (const source of request.sourceObjects) {
        const opened = await this.openCurrent(() => this.objects.get(`${bucket}/${source.name}`));
        if (opened === undefined) return this.notFound(res);
        sources.push(opened);
      }
      const out = createWriteStream(staged);
      for (const { file } of sources) await pipeline(file.createReadStream({ autoClose: false }), out, { end: false });
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    } finally {
      await Promise.all(sources.map(({ file }) => file.close()));
    }
    const precondition = url.searchParams.get('ifGenerationMatch');
    const components = sources.reduce((sum, { object }) => sum + (object.componentCount ?? 1), 0);
    const object = await this.store(bucket, name, staged, request.destination?.contentType ?? 'application/octet-stream', precondition === null ? undefined : Number(precondition), components);
    if (object === undefined) return this.preconditionFailed(res);
    this.json(res, 200, this.resource(bucket, object));
  }

  private async rewrite(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, destBucket: string, destName: string, url: URL): Promise<void> {
    await drain(req);
    if (!this.buckets.has(destBucket)) return this.notFound(res);
    const opened = await this.openCurrent(() => this.objects.get(`${bucket}/${name}`));
    if (opened === undefined) return this.notFound(res);
    const source = opened.object;
    const staged = join(this.directory, `rewrite-${randomBytes(8).toString('hex')}`);
    try {
      await pipeline(opened.file.createReadStream({ autoClose: false }), createWriteStream(staged));
    } finally {
      await opened.file.close();
    }
    const precondition = url.searchParams.get('ifGenerationMatch');
    const object = await this.store(destBucket, destName, staged, source.contentType, precondition === null ? undefined : Number(precondition));
    if (object === undefined) return this.preconditionFailed(res);
    const resource = this.resource(destBucket, object);
    this.json(res, 200, { kind: 'storage#rewriteResponse', done: true, totalBytesRewritten: resource.size, objectSize: resource.size, resource });
  }

  /** Serves a V4 signed URL after checking its signature, expiry and method. */
  private async signedRead(req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): Promise<void> {
    const refuse = (message: string) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(message);
    };
    if (!this.signer) return refuse('this server was started without a signing key');
    const params = url.searchParams;
    const signature = params.get('X-Goog-Signature') ?? '';
    const date = params.get('X-Goog-Date') ?? '';
    const credential = params.get('X-Goog-Credential') ?? '';
    if (params.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return refuse('unknown algorithm');
    if (!credential.startsWith(`${this.signer.email}/`)) return refuse('credential of another account');
    const signedAt = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (Number.isNaN(signedAt) || Date.now() > signedAt + Number(params.get('X-Goog-Expires') ?? 0) * 1000) return refuse('expired');
    // The canonical request as the signer built it: the raw path, the sorted raw query without the signature.
    const rawQuery = (req.url ?? '').split('?')[1] ?? '';
    const query = rawQuery
      .split('&')
      .filter((pair) => pair !== '' && !pair.startsWith('X-Goog-Signature='))
      .sort()
      .join('&');
    const signedHeaders = params.get('X-Goog-SignedHeaders') ?? 'host';
    // The SDK signs the endpoint's host name without its port (GCS's own has none).
    const headerValue = (header: string) => (header === 'host' ? url.hostname : (req.headers[header] ?? '').toString().trim());
    const headers = signedHeaders
      .split(';')
      .map((header) => `${header}:${headerValue(header)}\n`)
      .join('');
    const canonical = [req.method === 'HEAD' ? 'HEAD' : 'GET', url.pathname, query, headers, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
    const scope = credential.slice(credential.indexOf('/') + 1);
    const toSign = ['GOOG4-RSA-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    if (!createVerify('RSA-SHA256').update(toSign).verify(this.signer.publicKey, Buffer.from(signature, 'hex'))) return refuse('signature does not match');
    const bucket = decodeURIComponent(segments[0] ?? '');
    const key = `${bucket}/${segments.slice(1).map(decodeURIComponent).join('/')}`;
    return this.media(req, res, () => this.objects.get(key));
  }

  /** Makes `file` the bytes of a new generation of the object, unless `ifGenerationMatch` fails (then `undefined`). */
  private async store(bucket: string, name: string, file: string, contentType: string, ifGenerationMatch?: number, componentCount?: number): Promise<StoredObject | undefined> {
    const key = `${bucket}/${name}`;
    const current = this.objects.get(key);
    if (ifGenerationMatch !== undefined && (current?.generation ?? 0) !== ifGenerationMatch) {
      await rm(file, { force: true });
      return undefined;
    }
    const object: StoredObject = { bucket, name, generation: this.nextGeneration++, size: (await stat(file)).size, contentType, updated: new Date() };
    if (componentCount !== undefined) object.componentCount = componentCount;
    else object.md5 = await md5Of(file);
    await rename(file, this.bytesFile(object));
    this.objects.set(key, object);
    if (current) await rm(this.bytesFile(current), { force: true });
    return object;
  }

  private bytesFile(object: StoredObject): string {
    return join(this.directory, `object-${createHash('sha1').update(`${object.bucket}/${object.name}`).digest('hex')}-${object.generation}`);
  }

  private resource(bucket: string, object: StoredObject): Record<string, unknown> {
    const resource: Record<string, unknown> = {
      kind: 'storage#object',
      id: `${bucket}/${object.name}/${object.generation}`,
      name: object.name,
      bucket,
      generation: String(object.generation),
      metageneration: '1',
      contentType: object.contentType,
      size: String(object.size),
      updated: object.updated.toISOString(),
      timeCreated: object.updated.toISOString(),
    };
    if (object.md5) resource.md5Hash = object.md5;
    if (object.componentCount) resource.componentCount = object.componentCount;
    return resource;
  }

  private preconditionHolds(url: URL, object: StoredObject): boolean {
    const match = url.searchParams.get('ifGenerationMatch');
    return match === null || Number(match) === object.generation;
  }

  private preconditionFailed(res: ServerResponse): void {
    this.json(res, 412, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
  }

  private notFound(res: ServerResponse): void {
    this.json(res, 404, { error: { code: 404, message: 'No such object.' } });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/**
 * Splits a multipart upload as it streams: the first part (metadata) is read whole, the second
 * (the media) goes to `file` (created empty when there is none), further parts are counted only.
 */
async function receiveMultipart(req: IncomingMessage, boundary: string, file: string): Promise<{ parts: number; metadata: Buffer; mediaType: string | undefined; md5: string }> {
  let parts = 0;
  let mediaType: string | undefined;
  const metadata: Buffer[] = [];
  async function* media(events: AsyncIterable<MultipartEvent>): AsyncGenerator<Buffer> {
    for await (const event of events) {
      if ('headers' in event) {
        parts += 1;
        if (parts === 2) mediaType = event.headers['content-type'];
      } else if (parts === 1) {
        metadata.push(event.data);
        if (metadata.reduce((sum, piece) => sum + piece.length, 0) > 1024 * 1024) throw new Error('multipart metadata over 1 MiB');
      } else if (parts === 2) {
        yield event.data;
      }
    }
  }
  const received = await receiveToFile(media(multipartEvents(req, boundary)), file);
  return { parts, metadata: Buffer.concat(metadata), mediaType, md5: received.md5.toString('base64') };
}
