import { Inject, Injectable } from '@nestjs/common';
import { MANIFEST_CLIENT, type ManifestMessages, ManifestPattern, type MessageClient } from '@berth/contracts';
import { OciError, parseReference } from '@berth/oci';
import { acceptsMediaType } from './accept-header';
import { type HttpRequest, type HttpResponse, sendEmpty } from './http-answers';
import { readManifestBody } from './manifest-body';

@Injectable()
export class ManifestHandler {
  constructor(@Inject(MANIFEST_CLIENT) private readonly manifests: MessageClient<ManifestMessages>) {}

  /** `GET`/`HEAD`, by tag or digest, honouring the client's `Accept`. */
  async get(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    parseReference(reference);
    const head = req.method === 'HEAD';
    const found = await this.manifests.send(ManifestPattern.Get, { repository, reference, withContent: !head });
    if (!acceptsMediaType(req.headers.accept, found.mediaType)) {
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
    const content = await readManifestBody(req, req.headers['content-length']);
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
