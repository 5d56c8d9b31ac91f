import {
  checkDigest,
  classifyManifest,
  type Digest,
  essenceOf,
  type ManifestMediaType,
  MediaType,
  OciError,
  parseManifestJson,
} from '@berth/oci';
import { z } from 'zod';

/** A pushed manifest, validated: what must exist before it may be stored, and what it says of itself. */
export interface ManifestDocument {
  mediaType: ManifestMediaType;
  /** Config and layers: blobs that must be linked in the repository (layers with `urls` left out). */
  blobs: Digest[];
  /** An index's manifests: revisions that must exist in the repository. */
  children: Digest[];
  /** OCI 1.1: the manifest this one refers to. */
  subject?: Digest;
}

/**
 * `validation.manifests.urls`: which layer URLs a manifest may name. Like the reference, each
 * list is one alternation searched anywhere in the URL; an empty allow list allows every URL.
 */
export interface LayerUrlPolicy {
  allow?: RegExp;
  deny?: RegExp;
}

export function layerUrlPolicy(settings: { allow: readonly string[]; deny: readonly string[] }): LayerUrlPolicy {
  const alternation = (patterns: readonly string[]) =>
    patterns.length === 0 ? undefined : new RegExp(patterns.map((pattern) => `(?:${pattern})`).join('|'));
  const policy: LayerUrlPolicy = {};
  const allow = alternation(settings.allow);
  const deny = alternation(settings.deny);
  if (allow) policy.allow = allow;
  if (deny) policy.deny = deny;
  return policy;
}

const SCHEMA1_REFUSED =
  'Docker image manifest v2 schema 1 is deprecated and not supported by this registry; ' +
  'push the image with a current client (it will send schema 2 or OCI)';

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  MediaType.DockerSchema1Manifest,
  MediaType.DockerSchema1SignedManifest,
]);

const descriptor = z.looseObject({
  mediaType: z.string().optional(),
  digest: z.string().refine((value): value is Digest => checkDigest(value).ok, 'not a valid sha256 or sha512 digest'),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const imageManifest = z.looseObject({
  config: descriptor,
  layers: z.array(descriptor),
  subject: descriptor.optional(),
});

const imageIndex = z.looseObject({
  manifests: z.array(descriptor),
  subject: descriptor.optional(),
});

/**
 * Parses and validates a pushed manifest, after Distribution's `UnmarshalManifest` and the
 * schema2/ocischema/manifestlist handlers: the media type by `classifyManifest` (header and
 * body must agree), then every descriptor's shape. Schema 1 is refused before anything else,
 * with a detail that tells the user what to do.
 */
export function parseManifest(content: Buffer, contentType: string, urls: LayerUrlPolicy = {}): ManifestDocument {
  if (SCHEMA1_TYPES.has(essenceOf(contentType))) throw new OciError('MANIFEST_INVALID', SCHEMA1_REFUSED);
  const json = parseManifestJson(content);
  if (json.schemaVersion === 1 || (typeof json.mediaType === 'string' && SCHEMA1_TYPES.has(json.mediaType))) {
    throw new OciError('MANIFEST_INVALID', SCHEMA1_REFUSED);
  }
  const { mediaType, kind, format } = classifyManifest(contentType, json);
  const document: ManifestDocument =
    kind === 'index' ? indexDocument(json, mediaType) : imageDocument(json, mediaType, urls);
  // Only OCI's types define `subject`; a stray field in a Docker manifest links nothing.
  return format === 'oci' ? document : { mediaType, blobs: document.blobs, children: document.children };
}

function imageDocument(
  json: Record<string, unknown>,
  mediaType: ManifestMediaType,
  urls: LayerUrlPolicy,
): ManifestDocument {
  if (json.manifests !== undefined) throw new OciError('MANIFEST_INVALID', 'expected manifest but found index');
  const manifest = validated(imageManifest, json);
  for (const layer of manifest.layers) checkLayerUrls(layer, urls);
  // As the reference: a layer with `urls` is fetched from there and need not be in the registry.
  const blobs = [manifest.config, ...manifest.layers].filter((blob) => (blob.urls ?? []).length === 0);
  return withSubject({ mediaType, blobs: blobs.map((blob) => blob.digest), children: [] }, manifest.subject);
}

function indexDocument(json: Record<string, unknown>, mediaType: ManifestMediaType): ManifestDocument {
  if (json.config !== undefined || json.layers !== undefined) {
    throw new OciError('MANIFEST_INVALID', 'expected index but found manifest');
  }
  const index = validated(imageIndex, json);
  return withSubject({ mediaType, blobs: [], children: index.manifests.map((child) => child.digest) }, index.subject);
}

function withSubject(document: ManifestDocument, subject: { digest: Digest } | undefined): ManifestDocument {
  return subject ? { ...document, subject: subject.digest } : document;
}

/**
 * Layer URLs must be plain http(s) without a fragment and pass the configured allow/deny
 * patterns, and a Docker foreign layer must have some (schema2manifesthandler.go). berth
 * answers MANIFEST_INVALID where the reference gives UNKNOWN plus MANIFEST_BLOB_UNKNOWN: the
 * manifest is at fault, not a missing blob.
 */
function checkLayerUrls(layer: z.infer<typeof descriptor>, policy: LayerUrlPolicy): void {
  const urls = layer.urls ?? [];
  if (layer.mediaType === MediaType.DockerForeignLayer && urls.length === 0) {
    throw new OciError('MANIFEST_INVALID', `foreign layer ${layer.digest} has no urls`);
  }
  for (const url of urls) {
    const allowed = isFetchableUrl(url) && (policy.allow?.test(url) ?? true) && !(policy.deny?.test(url) ?? false);
    if (!allowed) throw new OciError('MANIFEST_INVALID', `layer ${layer.digest} has an invalid url: ${url}`);
  }
}

function isFetchableUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && !url.includes('#');
  } catch {
    return false;
  }
}

function validated<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new OciError('MANIFEST_INVALID', `${where}${issue?.message ?? 'invalid manifest'}`);
}
