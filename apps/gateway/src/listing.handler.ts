import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { MANIFEST_CLIENT, type ManifestMessages, ManifestPattern, type MessageClient } from '@berth/contracts';
import { parseDigest } from '@berth/oci';
import { type HttpResponse, sendJson } from './http-answers';
import { pageOf } from './pagination';

/** Tag lists, the catalog and referrers: the read-only listings, paginated with `n`/`last` and `Link`. */
@Injectable()
export class ListingHandler {
  private readonly maxEntries: number;

  constructor(
    @Inject(MANIFEST_CLIENT) private readonly manifests: MessageClient<ManifestMessages>,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.maxEntries = config.catalog.maxentries;
  }

  async tags(query: URLSearchParams, res: HttpResponse, repository: string): Promise<void> {
    const page = pageOf(query, this.maxEntries);
    const listed = await this.manifests.send(ManifestPattern.ListTags, { repository, ...page });
    const last = listed.tags.at(-1);
    if (listed.more && last !== undefined) linkNext(res, `/v2/${repository}/tags/list`, page.n, last);
    sendJson(res, { name: listed.name, tags: listed.tags });
  }

  async catalog(query: URLSearchParams, res: HttpResponse): Promise<void> {
    const page = pageOf(query, this.maxEntries);
    const listed = await this.manifests.send(ManifestPattern.Catalog, page);
    const last = listed.repositories.at(-1);
    if (listed.more && last !== undefined) linkNext(res, '/v2/_catalog', page.n, last);
    sendJson(res, { repositories: listed.repositories });
  }

  async referrers(query: URLSearchParams, res: HttpResponse, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    const artifactType = query.get('artifactType') ?? undefined;
    const found = await this.manifests.send(ManifestPattern.Referrers, {
      repository,
      digest,
      ...(artifactType ? { artifactType } : {}),
    });
    if (found.filtersApplied.length > 0) res.setHeader('OCI-Filters-Applied', found.filtersApplied.join(','));
    sendJson(res, found.index, 'application/vnd.oci.image.index.v1+json');
  }
}

function linkNext(res: HttpResponse, path: string, n: number | undefined, last: string): void {
  const query = new URLSearchParams({ ...(n !== undefined ? { n: String(n) } : {}), last });
  res.setHeader('Link', `<${path}?${query.toString()}>; rel="next"`);
}
