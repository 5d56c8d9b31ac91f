import { Injectable } from '@nestjs/common';
import { type Digest, OciError } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { type ManifestSummary, summarizeStoredManifest } from './stored-manifest';

/** Enough for every manifest of a large registry's hot set; each entry is a few hundred bytes. */
const SUMMARY_CACHE_ENTRIES = 10_000;
/** Manifests are a few KiB: this keeps thousands, and bounds the memory whatever their size. */
const CONTENT_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Reads manifest bytes from the blob store and keeps them, with what each says of itself.
 * Everything is keyed by digest, so an entry never goes stale: whether a manifest is visible
 * in a repository is decided by its revision link, read from storage every time. Bytes read
 * once are taken as still stored: garbage collection removes a manifest's bytes only after
 * its last revision link, which every read checks first. (On Swift this saves one of a GET
 * by tag's three requests.)
 */
@Injectable()
export class ManifestReader {
  private readonly summaries = new Map<Digest, ManifestSummary>();
  private readonly contents = new Map<Digest, Buffer>();
  private contentBytes = 0;

  constructor(private readonly storage: RegistryStorage) {}

  /** The bytes of manifest `digest` and their summary; MANIFEST_UNKNOWN when the blob is gone. */
  async content(digest: Digest): Promise<{ content: Buffer; summary: ManifestSummary }> {
    const kept = this.contents.get(digest);
    if (kept !== undefined) {
      this.keep(digest, kept);
      return { content: kept, summary: this.summaries.get(digest) ?? this.remember(digest, summarizeStoredManifest(kept)) };
    }
    const content = await this.read(digest);
    this.keep(digest, content);
    // The same digest is the same bytes: a summary made once serves every later read.
    let summary = this.summaries.get(digest);
    if (summary === undefined || summary.size !== content.length) summary = summarizeStoredManifest(content);
    this.remember(digest, summary);
    return { content, summary };
  }

  /** Whether the bytes of manifest `digest` are in the blob store. */
  async isStored(digest: Digest): Promise<boolean> {
    if (this.summaries.has(digest)) return true;
    return this.storage.blobs.exists(digest);
  }

  async summary(digest: Digest): Promise<ManifestSummary> {
    const cached = this.summaries.get(digest);
    if (cached !== undefined) return cached;
    const summary = summarizeStoredManifest(await this.read(digest));
    this.remember(digest, summary);
    return summary;
  }

  private async read(digest: Digest): Promise<Buffer> {
    const content = await this.storage.blobs.get(digest);
    if (content === undefined) throw new OciError('MANIFEST_UNKNOWN', { digest });
    return content;
  }

  private remember(digest: Digest, summary: ManifestSummary): ManifestSummary {
    this.summaries.delete(digest);
    this.summaries.set(digest, summary);
    if (this.summaries.size > SUMMARY_CACHE_ENTRIES) {
      // Maps iterate in insertion order: the first key is the least recently stored.
      const oldest = this.summaries.keys().next().value;
      if (oldest !== undefined) this.summaries.delete(oldest);
    }
    return summary;
  }

  private keep(digest: Digest, content: Buffer): void {
    this.contentBytes -= this.contents.get(digest)?.length ?? 0;
    this.contents.delete(digest);
    this.contents.set(digest, content);
    this.contentBytes += content.length;
    for (const [oldest, bytes] of this.contents) {
      if (this.contentBytes <= CONTENT_CACHE_BYTES) break;
      this.contents.delete(oldest);
      this.contentBytes -= bytes.length;
    }
  }
}
