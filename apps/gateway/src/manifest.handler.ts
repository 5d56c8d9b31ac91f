import { Inject, Injectable } from '@nestjs/common';
import { MANIFEST_CLIENT, type ManifestMessages, ManifestPattern, type MessageClient } from '@berth/contracts';
import { type ManifestReference, OciError, parseReference } from '@berth/oci';
import { type HttpRequest, type HttpResponse, sendEmpty } from './http-answers';
import { readManifestBody } from './manifest-body';
import { chooseManifest, defaultPlatformChild } from './manifest-negotiation';
import { RegistryUrls } from './registry-urls';

type Found = ManifestMessages[typeof ManifestPattern.Get]['reply'];

@Injectable()
export class ManifestHandler {
  constructor(
    @Inject(MANIFEST_CLIENT) private readonly manifests: MessageClient<ManifestMessages>,
    private readonly urls: RegistryUrls,
  ) {}

  /** `GET`/`HEAD`, by tag or digest, honouring the client's `Accept` (see {@link chooseManifest}). */
  async get(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    const target = manifestReference(reference);
    const head = req.method === 'HEAD';
    let found = await this.manifests.send(ManifestPattern.Get, { repository, reference, withContent: !head });
    if (chooseManifest(req.headers.accept, found.mediaType, target.kind === 'tag') === 'defaultPlatformChild') {
      found = await this.defaultPlatformManifest(repository, found, head);
    }
    res.setHeader('Content-Type', found.mediaType);
    res.setHeader('Content-Length', found.size);
    res.setHeader('Docker-Content-Digest', found.digest);
    res.setHeader('ETag', `"${found.digest}"`);
    if (head) res.end();
    else res.end(Buffer.from(found.content ?? '', 'base64'));
  }

  /** The `linux/amd64` manifest of a list (whose bytes a HEAD has not fetched yet). */
  private async defaultPlatformManifest(repository: string, list: Found, head: boolean): Promise<Found> {
    const content = list.content ?? (await this.manifests.send(ManifestPattern.Get, { repository, reference: list.digest, withContent: true })).content;
    const child = defaultPlatformChild(Buffer.from(content ?? '', 'base64'));
    return this.manifests.send(ManifestPattern.Get, { repository, reference: child, withContent: !head });
  }

  async put(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    manifestReference(reference);
    const content = await readManifestBody(req, req.headers['content-length']);
    const stored = await this.manifests.send(ManifestPattern.Put, {
      repository,
      reference,
      contentType: req.headers['content-type'] ?? '',
      content: content.toString('base64'),
    });
    res.setHeader('Location', this.urls.of(req, `/v2/${repository}/manifests/${stored.digest}`));
    res.setHeader('Docker-Content-Digest', stored.digest);
    if (stored.subject) res.setHeader('OCI-Subject', stored.subject);
    sendEmpty(res, 201);
  }

  async delete(res: HttpResponse, repository: string, reference: string): Promise<void> {
    manifestReference(reference);
    await this.manifests.send(ManifestPattern.Delete, { repository, reference });
    sendEmpty(res, 202);
  }
}

/**
 * The `<reference>` of a manifest URL. One that is neither a tag nor a digest names no
 * manifest the API can have (distribution-spec: "`<reference>` MUST NOT be in any other
 * format"): 404 for every method, as the spec's conformance tests expect of GET and HEAD and
 * as the reference answers (its router has no such route). The code is NOT_FOUND, the
 * reference's "no route" answer, for PUT and DELETE alike: a PUT there creates nothing.
 */
function manifestReference(reference: string): ManifestReference {
  try {
    return parseReference(reference);
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    throw new OciError('NOT_FOUND', {
      reference: reference.length > 300 ? `${reference.slice(0, 300)}…` : reference,
      reason: 'a manifest reference is a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) or a digest (algorithm:hex)',
    });
  }
}

