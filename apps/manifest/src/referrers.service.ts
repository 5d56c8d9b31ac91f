import { Injectable } from '@nestjs/common';
import type { ManifestMessages, ManifestPattern } from '@berth/contracts';
import { type Descriptor, type Digest, isValidRepositoryName, MediaType, OciError } from '@berth/oci';
import { mapBounded, RegistryStorage } from '@berth/registry-storage';
import { ManifestReader } from './manifest-reader.service';
import type { ManifestSummary } from './stored-manifest';

type Referrers = ManifestMessages[typeof ManifestPattern.Referrers];

const PARALLEL_READS = 16;

/**
 * The OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`), which the reference v2.8
 * lacks. For now every request scans the repository's revisions: correct after any delete,
 * since a revision is a referrer exactly while its link exists, at the cost of one listing
 * plus one link read per revision. The manifests' own summaries are cached by digest
 * (ManifestReader), so only the first scan reads their bytes.
 */
@Injectable()
export class ReferrersService {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly reader: ManifestReader,
  ) {}

  /** An unknown repository, or a subject nothing refers to, has an empty index (the spec: never 404). */
  async list(request: Referrers['request']): Promise<Referrers['reply']> {
    const { repository, digest, artifactType } = request;
    const referrers = isValidRepositoryName(repository) ? await this.referrersOf(repository, digest) : [];
    const manifests = artifactType === undefined ? referrers : referrers.filter((r) => r.artifactType === artifactType);
    return {
      index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests },
      filtersApplied: artifactType === undefined ? [] : ['artifactType'],
    };
  }

  private async referrersOf(repository: string, subject: Digest): Promise<Descriptor[]> {
    const revisions: Digest[] = [];
    for await (const digest of this.storage.revisions.all(repository)) revisions.push(digest);
    const found = await mapBounded(revisions, PARALLEL_READS, async (digest) => {
      const summary = await this.summaryUnlessGone(digest);
      if (summary?.subject !== subject) return undefined;
      const descriptor: Descriptor = { mediaType: summary.mediaType, digest, size: summary.size };
      if (summary.artifactType !== undefined) descriptor.artifactType = summary.artifactType;
      if (summary.annotations !== undefined) descriptor.annotations = summary.annotations;
      return descriptor;
    });
    return found.filter((entry) => entry !== undefined).sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  /** A revision whose blob the garbage collector removed is no referrer; any other failure is. */
  private async summaryUnlessGone(digest: Digest): Promise<ManifestSummary | undefined> {
    try {
      return await this.reader.summary(digest);
    } catch (error) {
      if (error instanceof OciError && error.code === 'MANIFEST_UNKNOWN') return undefined;
      throw error;
    }
  }
}
