import type { Descriptor, Digest } from '@berth/oci';

/**
 * Messages the manifest service answers: manifests, tags, catalog, referrers.
 * Payloads are plain JSON (manifest bodies as base64): they cross Redis in the distributed mode.
 * WARNING: the pattern strings are wire names; renaming one breaks mixed-version clusters.
 */
export const ManifestPattern = {
  Get: 'manifest.get',
  Put: 'manifest.put',
  Delete: 'manifest.delete',
  ListTags: 'manifest.tags.list',
  Catalog: 'manifest.catalog.list',
  Referrers: 'manifest.referrers.list',
} as const;

/**
 * The messages a second run would answer differently from the first (a delete finds nothing the
 * second time, 404): when the instance that took one dies before answering, the bus answers it 503
 * rather than run it again. Every other manifest message is idempotent: a PUT writes the same
 * content-addressed revision and the same tag link again, the rest only read.
 */
export const UNREPLAYABLE_MANIFEST_PATTERNS: readonly string[] = [ManifestPattern.Delete];

export interface ManifestMessages {
  [ManifestPattern.Get]: {
    /** `reference` is a tag or a digest, already validated by the gateway. `withContent: false` for HEAD. */
    request: { repository: string; reference: string; withContent: boolean };
    reply: Descriptor & { content?: string };
  };
  [ManifestPattern.Put]: {
    /** `contentType` is the request's Content-Type; `content` the exact bytes, base64. */
    request: { repository: string; reference: string; contentType: string; content: string };
    reply: { digest: Digest; subject?: Digest };
  };
  [ManifestPattern.Delete]: {
    /** A tag untags only; a digest deletes the manifest revision (and the tags pointing at it). */
    request: { repository: string; reference: string };
    reply: Record<string, never>;
  };
  [ManifestPattern.ListTags]: {
    request: { repository: string; n?: number; last?: string };
    reply: { name: string; tags: string[]; more: boolean };
  };
  [ManifestPattern.Catalog]: {
    request: { n?: number; last?: string };
    reply: { repositories: string[]; more: boolean };
  };
  [ManifestPattern.Referrers]: {
    request: { repository: string; digest: Digest; artifactType?: string };
    /** `index` is an OCI image index (JSON object) of the referrers' descriptors. */
    reply: { index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] }; filtersApplied: string[] };
  };
}
