import { Inject, Injectable } from '@nestjs/common';
import { MANIFEST_CLIENT, type ManifestMessages, ManifestPattern, type MessageClient } from '@berth/contracts';
import { MANIFEST_SIZE_LIMIT, manifestTooLarge, OciError, parseReference } from '@berth/oci';
import { type HttpRequest, type HttpResponse, sendEmpty } from './http-answers';

@Injectable()
export class ManifestHandler {
  constructor(@Inject(MANIFEST_CLIENT) private readonly manifests: MessageClient<ManifestMessages>) {}

  /** `GET`/`HEAD`, by tag or digest, honouring the client's `Accept`. */
  async get(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    parseReference(reference);
    const head = req.method === 'HEAD';
    const found = await this.manifests.send(ManifestPattern.Get, { repository, reference, withContent: !head });
    if (!accepts(req.headers.accept, found.mediaType)) {
      throw new OciError(
        'MANIFEST_UNKNOWN',
        `the manifest is ${found.mediaType}, which the request's Accept header does not allow`,
      );
    }
    res.setHeader('Content-Type', found.mediaType);
    res.setHeader('Content-Length', found.size);
    res.setHeader('Docker-Content-Digest', found.digest);
    res.setHeader('ETag', `"${found.digest}"`);
    if (head) res.end();
    else res.end(Buffer.from(found.content ?? '', 'base64'));
  }

  async put(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    parseReference(reference);
    const content = await readManifestBody(req);
    const stored = await this.manifests.send(ManifestPattern.Put, {
      repository,
      reference,
      contentType: req.headers['content-type'] ?? '',
      content: content.toString('base64'),
    });
    res.setHeader('Location', `/v2/${repository}/manifests/${stored.digest}`);
    res.setHeader('Docker-Content-Digest', stored.digest);
    if (stored.subject) res.setHeader('OCI-Subject', stored.subject);
    sendEmpty(res, 201);
  }

  async delete(res: HttpResponse, repository: string, reference: string): Promise<void> {
    parseReference(reference);
    await this.manifests.send(ManifestPattern.Delete, { repository, reference });
    sendEmpty(res, 202);
  }
}

/**
 * An `Accept` header allows a media type when it is absent, names it, or names a wildcard.
 * (Old Docker clients that accept only schema 1 get MANIFEST_UNKNOWN, as the reference answers
 * clients that cannot take an OCI manifest.)
 */
function accepts(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const accepted = header.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  return accepted.some((type) => type === '*/*' || type === mediaType || type === 'application/*');
}

/**
 * Bodies refused for their size are still read to the end up to this many bytes: a client
 * still sending when the 413 arrives may see a broken pipe instead of the answer. A body
 * declared larger is refused at once, unread.
 */
const REFUSED_BODY_READ_LIMIT = 4 * MANIFEST_SIZE_LIMIT;

/** The body, up to the size limit; a larger one is refused (413), nothing of it kept. */
async function readManifestBody(req: HttpRequest): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > REFUSED_BODY_READ_LIMIT) throw manifestTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > REFUSED_BODY_READ_LIMIT) throw manifestTooLarge();
    if (size <= MANIFEST_SIZE_LIMIT) chunks.push(chunk);
  }
  if (size > MANIFEST_SIZE_LIMIT) throw manifestTooLarge();
  return Buffer.concat(chunks);
}
