import { checkDigest, type Digest, MediaType } from '@berth/oci';

/** What a stored manifest says of itself: enough to serve it and to list it as a referrer. */
export interface ManifestSummary {
  mediaType: string;
  size: number;
  /** The digest of `subject`, for OCI manifests that refer to another. */
  subject?: Digest;
  /** `artifactType`, else the config's media type (the OCI 1.1 referrers rule). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Summarises bytes that were validated when pushed, or were written by the reference registry
 * (which may hold schema 1 manifests from before berth: those are still served). Lenient on
 * purpose: it never refuses what storage holds.
 */
export function summarizeStoredManifest(content: Buffer): ManifestSummary {
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      json = parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: served with the OCI manifest type, as the shape rule below would do.
  }
  const summary: ManifestSummary = { mediaType: storedMediaType(json), size: content.length };
  const subject = subjectOf(json);
  if (subject !== undefined) summary.subject = subject;
  const artifactType = stringField(json, 'artifactType') ?? stringField(objectField(json, 'config'), 'mediaType');
  if (artifactType !== undefined) summary.artifactType = artifactType;
  const annotations = stringRecord(json.annotations);
  if (annotations !== undefined) summary.annotations = annotations;
  return summary;
}

function storedMediaType(json: Record<string, unknown>): string {
  const declared = stringField(json, 'mediaType');
  if (declared !== undefined && declared !== '') return declared;
  if (json.schemaVersion === 1) {
    return json.signatures !== undefined ? MediaType.DockerSchema1SignedManifest : MediaType.DockerSchema1Manifest;
  }
  // OCI lets both manifests and indexes omit mediaType (manifeststore.go decides by `manifests`).
  return Array.isArray(json.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
}

/** The subject's digest; one that is no digest names nothing a referrers request could ask for. */
function subjectOf(json: Record<string, unknown>): Digest | undefined {
  const checked = checkDigest(stringField(json.subject, 'digest') ?? '');
  return checked.ok ? checked.digest : undefined;
}

function objectField(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const field = objectField(value, key);
  return typeof field === 'string' ? field : undefined;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
