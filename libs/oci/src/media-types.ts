import { OciError } from './errors/oci-error';

/** The media types a registry meets: manifests, their configs and layers. */
export const MediaType = {
  // Docker image manifest v2, schema 2 (docker/distribution docs/spec/manifest-v2-2.md).
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerContainerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  // Docker schema 1: refused, as the reference v2.8 refuses it by default.
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  // OCI image-spec v1.1.
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciNondistributableLayer: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciNondistributableLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciNondistributableLayerZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmptyJson: 'application/vnd.oci.empty.v1+json',
} as const;

export type ManifestMediaType =
  | typeof MediaType.DockerManifest
  | typeof MediaType.DockerManifestList
  | typeof MediaType.OciManifest
  | typeof MediaType.OciIndex;

/**
 * The OCI empty descriptor (image-spec descriptor.md): the two bytes `{}`, for artifacts that
 * need a config but have none.
 */
export const OCI_EMPTY_DESCRIPTOR = {
  mediaType: MediaType.OciEmptyJson,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

export interface ManifestKind {
  mediaType: ManifestMediaType;
  /** `image`: config and layers; `index`: a list of manifests. */
  kind: 'image' | 'index';
  format: 'docker' | 'oci';
}

const MANIFEST_KINDS: Readonly<Record<ManifestMediaType, ManifestKind>> = {
  [MediaType.DockerManifest]: { mediaType: MediaType.DockerManifest, kind: 'image', format: 'docker' },
  [MediaType.DockerManifestList]: { mediaType: MediaType.DockerManifestList, kind: 'index', format: 'docker' },
  [MediaType.OciManifest]: { mediaType: MediaType.OciManifest, kind: 'image', format: 'oci' },
  [MediaType.OciIndex]: { mediaType: MediaType.OciIndex, kind: 'index', format: 'oci' },
};

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  MediaType.DockerSchema1Manifest,
  MediaType.DockerSchema1SignedManifest,
]);

export function isManifestMediaType(value: unknown): value is ManifestMediaType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(MANIFEST_KINDS, value);
}

/** `type/subtype` of a Content-Type header, lower case, parameters dropped (the spec: registries ignore them). */
export function essenceOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A manifest body as JSON, or MANIFEST_INVALID. Only an object can be a manifest. */
export function parseManifestJson(content: Uint8Array | string): Record<string, unknown> {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OciError('MANIFEST_INVALID', `the manifest is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OciError('MANIFEST_INVALID', 'the manifest is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * What a pushed manifest is, from its `Content-Type` and its JSON body (the spec's rules):
 *
 * - Schema 1, by header, body or `schemaVersion: 1`, is refused with the reference's detail
 *   "manifest type unsupported".
 * - When both the header and the body's `mediaType` are set they must agree (parameters on the
 *   header ignored). A header of `application/json` or `application/octet-stream` (generic
 *   clients) counts as unset.
 * - OCI manifests and indexes may omit `mediaType` when the header names them; Docker schema 2
 *   types must carry it (the reference's schema2 unmarshalling insists).
 * - The body must have the shape its type implies (`schemaVersion: 2`; `config` for an image,
 *   a `manifests` array for an index), so that one type is never stored as another.
 */
export function classifyManifest(contentType: string | undefined, manifest: Record<string, unknown>): ManifestKind {
  const header = essenceOf(contentType);
  const declared = manifest.mediaType;
  if (declared !== undefined && typeof declared !== 'string') {
    throw new OciError('MANIFEST_INVALID', 'the manifest\'s "mediaType" is not a string');
  }
  if (SCHEMA1_TYPES.has(header) || (declared !== undefined && SCHEMA1_TYPES.has(declared)) || manifest.schemaVersion === 1) {
    throw new OciError('MANIFEST_INVALID', 'manifest type unsupported');
  }
  const headerSet = header !== '' && header !== 'application/json' && header !== 'application/octet-stream';
  if (headerSet && declared !== undefined && declared !== header) {
    throw new OciError(
      'MANIFEST_INVALID',
      `the manifest's mediaType "${declared}" does not match the Content-Type "${header}"`,
    );
  }
  const mediaType = declared ?? (headerSet ? header : undefined);
  if (mediaType === undefined) {
    throw new OciError('MANIFEST_INVALID', 'the manifest names no media type: set Content-Type or "mediaType"');
  }
  if (!isManifestMediaType(mediaType)) {
    throw new OciError('MANIFEST_INVALID', `unsupported manifest media type "${mediaType}"`);
  }
  const found = MANIFEST_KINDS[mediaType];
  if (found.format === 'docker' && declared === undefined) {
    throw new OciError('MANIFEST_INVALID', `a ${mediaType} manifest must carry its "mediaType"`);
  }
  if (manifest.schemaVersion !== 2) {
    throw new OciError('MANIFEST_INVALID', `a ${mediaType} manifest must have "schemaVersion": 2`);
  }
  if (found.kind === 'image' && (typeof manifest.config !== 'object' || manifest.config === null)) {
    throw new OciError('MANIFEST_INVALID', `a ${mediaType} manifest must have a "config" descriptor`);
  }
  if (found.kind === 'index' && !Array.isArray(manifest.manifests)) {
    throw new OciError('MANIFEST_INVALID', `a ${mediaType} must have a "manifests" array`);
  }
  return found;
}
