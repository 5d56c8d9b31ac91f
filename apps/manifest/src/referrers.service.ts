import { Inject, Injectable } from '@nestjs/common';
import type { ManifestMessages, ManifestPattern } from '@berth/contracts';
import { checkDigest, isValidRepositoryName, MediaType, OciError, pathFor } from '@berth/oci';
import { STORAGE_DRIVER, type StorageDriver, textIfExists } from '@berth/storage-driver';
import { ManifestReader } from './manifest-reader.service';
import type { ManifestSummary } from './stored-manifest';
import { baseName, listOrEmpty, mapBounded } from './storage-reads';

type Referrers = ManifestMessages[typeof ManifestPattern.Referrers];

const PARALLEL_READS = 16;

interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * The OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`), which the reference v2.8
 * lacks. For now every request scans the repository's revision links: correct after any
 * delete, since a revision is a referrer exactly while its link exists, at the cost of one
 * listing plus one link read per revision. The manifests' own summaries are cached by digest
 * (ManifestReader), so only the first scan reads their bytes.
 */
@Injectable()
export class ReferrersService {
  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
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

  private async referrersOf(repository: string, subject: string): Promise<ReferrerDescriptor[]> {
    const revisions = await this.revisions(repository);
    const found = await mapBounded(revisions, PARALLEL_READS, async (digest) => {
      const summary = await this.summaryUnlessGone(digest);
      if (summary?.subject !== subject) return undefined;
      const descriptor: ReferrerDescriptor = { mediaType: summary.mediaType, digest, size: summary.size };
      if (summary.artifactType !== undefined) descriptor.artifactType = summary.artifactType;
      if (summary.annotations !== undefined) descriptor.annotations = summary.annotations;
      return descriptor;
    });
    return found.filter((entry) => entry !== undefined).sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  /** A revision whose blob the garbage collector removed is no referrer; any other failure is. */
  private async summaryUnlessGone(digest: string): Promise<ManifestSummary | undefined> {
    try {
      return await this.reader.summary(digest);
    } catch (error) {
      if (error instanceof OciError && error.code === 'MANIFEST_UNKNOWN') return undefined;
      throw error;
    }
  }

  /**
   * The digests whose revision link exists. A deleted revision leaves its directory behind
   * (the reference deletes only the link file), so the link itself is what counts.
   */
  private async revisions(repository: string): Promise<string[]> {
    const algorithms = await listOrEmpty(this.driver, pathFor({ kind: 'manifestRevisionsDir', repository }));
    const candidates: string[] = [];
    for (const algorithmDir of algorithms) {
      for (const hexDir of await listOrEmpty(this.driver, algorithmDir)) {
        const digest = `${baseName(algorithmDir)}:${baseName(hexDir)}`;
        if (checkDigest(digest).ok) candidates.push(digest);
      }
    }
    const linked = await mapBounded(candidates, PARALLEL_READS, (digest) =>
      textIfExists(this.driver, pathFor({ kind: 'manifestRevisionLink', repository, digest })),
    );
    return candidates.filter((_, index) => linked[index] !== undefined);
  }
}
