import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { MANIFEST_CLIENT, type ManifestMessages, ManifestPattern, type MessageClient } from '@berth/contracts';
import { OciError, parseDigest } from '@berth/oci';
import type { Request, Response } from 'express';

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

  async tags(req: Request, res: Response, repository: string): Promise<void> {
    const page = pageOf(req, this.maxEntries);
    const listed = await this.manifests.send(ManifestPattern.ListTags, { repository, ...page });
    const last = listed.tags.at(-1);
    if (listed.more && last !== undefined) linkNext(res, `/v2/${repository}/tags/list`, page.n, last);
    res.json({ name: listed.name, tags: listed.tags });
  }

  async catalog(req: Request, res: Response): Promise<void> {
    const page = pageOf(req, this.maxEntries);
    const listed = await this.manifests.send(ManifestPattern.Catalog, page);
    const last = listed.repositories.at(-1);
    if (listed.more && last !== undefined) linkNext(res, '/v2/_catalog', page.n, last);
    res.json({ repositories: listed.repositories });
  }

  async referrers(req: Request, res: Response, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    const artifactType = typeof req.query.artifactType === 'string' ? req.query.artifactType : undefined;
    const found = await this.manifests.send(ManifestPattern.Referrers, {
      repository,
      digest,
      ...(artifactType ? { artifactType } : {}),
    });
    if (found.filtersApplied.length > 0) res.setHeader('OCI-Filters-Applied', found.filtersApplied.join(','));
    res.type('application/vnd.oci.image.index.v1+json').send(JSON.stringify(found.index));
  }
}

/** `n` (at most `max`; the spec lets a registry return fewer) and `last` from the query. */
function pageOf(req: Request, max: number): { n?: number; last?: string } {
  const { n, last } = req.query;
  const page: { n?: number; last?: string } = {};
  if (n !== undefined) {
    if (typeof n !== 'string' || !/^\d+$/.test(n)) {
      throw new OciError('PAGINATION_NUMBER_INVALID', `n=${JSON.stringify(n)} is not a non-negative integer`);
    }
    page.n = Math.min(Number(n), max);
  } else {
    page.n = max;
  }
  if (typeof last === 'string' && last !== '') page.last = last;
  return page;
}

function linkNext(res: Response, path: string, n: number | undefined, last: string): void {
  const query = new URLSearchParams({ ...(n !== undefined ? { n: String(n) } : {}), last });
  res.setHeader('Link', `<${path}?${query.toString()}>; rel="next"`);
}
