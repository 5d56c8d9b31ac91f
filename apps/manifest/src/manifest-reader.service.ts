import { Inject, Injectable } from '@nestjs/common';
import { OciError, pathFor } from '@berth/oci';
import { PathNotFoundError, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { type ManifestSummary, summarizeStoredManifest } from './stored-manifest';

/** Enough for every manifest of a large registry's hot set; each entry is a few hundred bytes. */
const SUMMARY_CACHE_ENTRIES = 10_000;

/**
 * Reads manifest bytes from the blob store and remembers what each says of itself. The cache
 * is keyed by digest, so an entry never goes stale: whether a manifest is visible in a
 * repository is decided by its revision link, read from storage every time.
 */
@Injectable()
export class ManifestReader {
  private readonly summaries = new Map<string, ManifestSummary>();

  constructor(@Inject(STORAGE_DRIVER) private readonly driver: StorageDriver) {}

  /** The bytes of manifest `digest` and their summary; MANIFEST_UNKNOWN when the blob is gone. */
  async content(digest: string): Promise<{ content: Buffer; summary: ManifestSummary }> {
    const content = await this.read(digest);
    // The same digest is the same bytes: a summary made once serves every later read.
    let summary = this.summaries.get(digest);
    if (summary === undefined || summary.size !== content.length) summary = summarizeStoredManifest(content);
    this.remember(digest, summary);
    return { content, summary };
  }

  async summary(digest: string): Promise<ManifestSummary> {
    const cached = this.summaries.get(digest);
    if (cached !== undefined) return cached;
    const summary = summarizeStoredManifest(await this.read(digest));
    this.remember(digest, summary);
    return summary;
  }

  private async read(digest: string): Promise<Buffer> {
    try {
      return await this.driver.getContent(pathFor({ kind: 'blobData', digest }));
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new OciError('MANIFEST_UNKNOWN', { digest });
      throw error;
    }
  }

  private remember(digest: string, summary: ManifestSummary): void {
    this.summaries.delete(digest);
    this.summaries.set(digest, summary);
    if (this.summaries.size > SUMMARY_CACHE_ENTRIES) {
      // Maps iterate in insertion order: the first key is the least recently stored.
      const oldest = this.summaries.keys().next().value;
      if (oldest !== undefined) this.summaries.delete(oldest);
    }
  }
}
