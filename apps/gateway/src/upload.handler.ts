import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import {
  type MessageClient,
  UPLOAD_CLIENT,
  type UploadMessages,
  UploadPattern,
  type UploadProgress,
} from '@berth/contracts';
import { OciError, parseDigest } from '@berth/oci';
import { type HttpRequest, type HttpResponse, sendEmpty } from './http-answers';
import { parseChunkRange, uploadRangeHeader } from './http-ranges';
import { RegistryUrls } from './registry-urls';
import { chunkOf, uploadStateOf } from './upload-request';

/**
 * Blob upload sessions (distribution-spec "Pushing blobs"). The gateway checks the HTTP
 * side (digests, ranges, lengths) and streams the body on; the upload service owns the
 * session, the bytes and the commit.
 */
@Injectable()
export class UploadHandler {
  private readonly automaticCrossMount: boolean;

  constructor(
    @Inject(UPLOAD_CLIENT) private readonly uploads: MessageClient<UploadMessages>,
    @Inject(BERTH_CONFIG) config: BerthConfig,
    private readonly urls: RegistryUrls,
  ) {
    this.automaticCrossMount = config.berth.upload.automaticcrossmount;
  }

  /**
   * `POST /blobs/uploads/`: a new session, a cross-repository mount, or a whole blob in one
   * request. A mount without `from` looks for the blob anywhere only with
   * `berth.upload.automaticcrossmount`; otherwise it is a plain start, as in the reference.
   */
  async start(req: HttpRequest, res: HttpResponse, repository: string, query: URLSearchParams): Promise<void> {
    const mountDigest = query.get('mount');
    const from = query.get('from');
    const mount =
      mountDigest === null || (!from && !this.automaticCrossMount)
        ? undefined
        : { digest: parseDigest(mountDigest), ...(from ? { from } : {}) };
    const started = await this.uploads.send(UploadPattern.Start, { repository, ...(mount ? { mount } : {}) });
    if (started.kind === 'mounted') return this.created(req, res, repository, started.digest);

    const digest = query.get('digest');
    if (digest !== null) {
      const finished = await this.uploads.send(UploadPattern.Finish, {
        repository,
        id: started.id,
        state: started.state,
        digest: parseDigest(digest),
        ...chunkOf(req),
      });
      return this.created(req, res, repository, finished.digest);
    }
    this.progress(req, res, 202, repository, started);
  }

  /** `PATCH`: one chunk (with `Content-Range`) or the whole stream (without). */
  async append(req: HttpRequest, res: HttpResponse, repository: string, id: string, query: URLSearchParams): Promise<void> {
    const range = parseChunkRange(req.headers['content-range']);
    const body = chunkOf(req, range);
    const progressed = await this.uploads.send(UploadPattern.Append, {
      repository,
      id,
      state: uploadStateOf(query),
      body: req,
      ...body,
    });
    this.progress(req, res, 202, repository, progressed);
  }

  /** `PUT ?digest=`: the optional last chunk, then the digest check and the commit. */
  async finish(req: HttpRequest, res: HttpResponse, repository: string, id: string, query: URLSearchParams): Promise<void> {
    const digest = query.get('digest');
    if (digest === null) throw new OciError('DIGEST_INVALID', 'PUT of an upload needs ?digest=<digest>');
    const finished = await this.uploads.send(UploadPattern.Finish, {
      repository,
      id,
      state: uploadStateOf(query),
      digest: parseDigest(digest),
      ...chunkOf(req, parseChunkRange(req.headers['content-range'])),
    });
    this.created(req, res, repository, finished.digest);
  }

  async status(req: HttpRequest, res: HttpResponse, repository: string, id: string, query: URLSearchParams): Promise<void> {
    const current = await this.uploads.send(UploadPattern.Status, { repository, id, state: uploadStateOf(query) });
    this.progress(req, res, 204, repository, current);
  }

  async cancel(res: HttpResponse, repository: string, id: string, query: URLSearchParams): Promise<void> {
    await this.uploads.send(UploadPattern.Cancel, { repository, id, state: uploadStateOf(query) });
    sendEmpty(res, 204);
  }

  private progress(req: HttpRequest, res: HttpResponse, status: number, repository: string, upload: UploadProgress): void {
    const path = `/v2/${repository}/blobs/uploads/${upload.id}?_state=${encodeURIComponent(upload.state)}`;
    res.setHeader('Location', this.urls.of(req, path));
    res.setHeader('Range', uploadRangeHeader(upload.offset));
    res.setHeader('Docker-Upload-UUID', upload.id);
    sendEmpty(res, status);
  }

  private created(req: HttpRequest, res: HttpResponse, repository: string, digest: string): void {
    res.setHeader('Location', this.urls.of(req, `/v2/${repository}/blobs/${digest}`));
    res.setHeader('Docker-Content-Digest', digest);
    sendEmpty(res, 201);
  }
}
