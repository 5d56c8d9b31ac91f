import { MediaType, OciError } from '@berth/oci';
import { acceptsMediaType } from './accept-header';

export type ManifestChoice = 'stored' | 'defaultPlatformChild';

/** The platform the reference picks from a manifest list for a client that cannot take one. */
const DEFAULT_PLATFORM = { os: 'linux', architecture: 'amd64' } as const;

/**
 * Which stored manifest answers a GET or HEAD, given the request's `Accept` (after
 * Distribution 2.8's registry/handlers/manifests.go, without its schema 1 rewriting):
 *
 * - an OCI manifest or index the client does not accept is MANIFEST_UNKNOWN, by tag or digest;
 * - a Docker manifest list fetched **by tag** by a client that does not accept lists (old
 *   Docker engines, npm's docker-registry-client, `curl -I` with the schema 2 type) is answered
 *   with its `linux/amd64` manifest, under that manifest's digest; MANIFEST_UNKNOWN when it has
 *   none. By digest the list itself is served: nothing else has that digest;
 * - anything else is served as stored. The reference rewrites a Docker schema 2 manifest into
 *   a signed schema 1 one for a client that does not name schema 2 (no `Accept` at all
 *   included); berth serves schema 2, as Distribution 3 does: schema 1 is refused on push, and
 *   the rewritten manifest's digest changes with the key of each reference process.
 *
 * Unlike the reference, a missing or empty `Accept`, and the wildcards for any type and for
 * `application/*`, accept every type (RFC 9110: no Accept means any type).
 */
export function chooseManifest(accept: string | undefined, mediaType: string, byTag: boolean): ManifestChoice {
  const accepted = (type: string) => acceptsMediaType(accept, type);
  if (mediaType === MediaType.OciManifest && !accepted(mediaType)) {
    throw new OciError('MANIFEST_UNKNOWN', 'OCI manifest found, but accept header does not support OCI manifests');
  }
  if (mediaType === MediaType.OciIndex && !accepted(mediaType)) {
    throw new OciError('MANIFEST_UNKNOWN', 'OCI index found, but accept header does not support OCI indexes');
  }
  if (mediaType === MediaType.DockerManifestList && byTag && !accepted(mediaType)) {
    return 'defaultPlatformChild';
  }
  return 'stored';
}

/** The digest of a manifest list's first `linux/amd64` entry, or MANIFEST_UNKNOWN. */
export function defaultPlatformChild(list: Buffer): string {
  let manifests: unknown;
  try {
    manifests = (JSON.parse(list.toString('utf8')) as { manifests?: unknown }).manifests;
  } catch {
    // Stored bytes that are not JSON hold no child to serve.
  }
  const entries = Array.isArray(manifests) ? (manifests as unknown[]) : [];
  for (const entry of entries) {
    const { digest, platform } = (entry ?? {}) as { digest?: unknown; platform?: { os?: unknown; architecture?: unknown } };
    if (platform?.os === DEFAULT_PLATFORM.os && platform.architecture === DEFAULT_PLATFORM.architecture && typeof digest === 'string') {
      return digest;
    }
  }
  throw new OciError('MANIFEST_UNKNOWN', 'the manifest list has no linux/amd64 manifest for a client that does not accept manifest lists');
}

