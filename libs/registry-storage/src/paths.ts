import { type DigestAlgorithm, isDigestAlgorithm, OciError, parseDigest, parseRepositoryName, parseTag, splitDigest } from '@berth/oci';

/**
 * The storage layout of Distribution's registry, byte for byte (registry/storage/paths.go),
 * so that the reference registry and berth can share one bucket. Every storage path berth
 * uses is built here from a typed spec; nothing else joins path strings.
 *
 *   /docker/registry/v2
 *     blobs/<algorithm>/<first two hex>/<hex>/data                      blob bytes
 *     repositories/<name>/
 *       _layers/<algorithm>/<hex>/link                                  blob linked into the repository
 *       _manifests/revisions/<algorithm>/<hex>/link                     manifest revision
 *       _manifests/tags/<tag>/current/link                              what the tag points at now
 *       _manifests/tags/<tag>/index/<algorithm>/<hex>/link              every revision the tag has had
 *       _uploads/<id>/data                                              upload in progress
 *       _uploads/<id>/startedat                                         RFC 3339 start time (purging)
 *       _uploads/<id>/hashstates/<algorithm>/<offset>                   saved hash state at an offset
 *
 * A `link` file holds a digest (`sha256:<hex>`). Paths are driver paths: absolute, `/`-separated.
 *
 * Every component is validated before it is joined (names and tags by the spec's grammar,
 * digests by parseDigest, upload ids below), so no spec can name a path outside its place;
 * a bad component is the client's fault and answers as the matching OciError.
 */
export const REGISTRY_ROOT = '/docker/registry/v2';
const REPOSITORIES_ROOT = `${REGISTRY_ROOT}/repositories`;
const BLOBS_ROOT = `${REGISTRY_ROOT}/blobs`;

export type PathSpec =
  | { kind: 'blobsRoot' }
  | { kind: 'blobDir'; digest: string }
  | { kind: 'blobData'; digest: string }
  | { kind: 'repositoriesRoot' }
  | { kind: 'repositoryDir'; repository: string }
  | { kind: 'layersDir'; repository: string }
  | { kind: 'layerLink'; repository: string; digest: string }
  | { kind: 'manifestRevisionsDir'; repository: string }
  | { kind: 'manifestRevisionDir'; repository: string; digest: string }
  | { kind: 'manifestRevisionLink'; repository: string; digest: string }
  | { kind: 'manifestTagsDir'; repository: string }
  | { kind: 'manifestTagDir'; repository: string; tag: string }
  | { kind: 'manifestTagCurrentLink'; repository: string; tag: string }
  | { kind: 'manifestTagIndexDir'; repository: string; tag: string }
  | { kind: 'manifestTagIndexEntryLink'; repository: string; tag: string; digest: string }
  | { kind: 'uploadsDir'; repository: string }
  | { kind: 'uploadDir'; repository: string; id: string }
  | { kind: 'uploadData'; repository: string; id: string }
  | { kind: 'uploadStartedAt'; repository: string; id: string }
  | { kind: 'uploadHashStatesDir'; repository: string; id: string; algorithm: DigestAlgorithm }
  | { kind: 'uploadHashState'; repository: string; id: string; algorithm: DigestAlgorithm; offset: number };

export type PathKind = PathSpec['kind'];

// Upload ids are berth's own (UUIDs) or the reference's (UUIDs); anything else in a URL is an
// upload that cannot exist. A first character other than `.` rules out `.` and `..`.
const UPLOAD_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.=-]{0,254}$/;

export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobsRoot':
      return BLOBS_ROOT;
    case 'blobDir': {
      const { algorithm, hex } = digestParts(spec.digest);
      return `${BLOBS_ROOT}/${algorithm}/${hex.slice(0, 2)}/${hex}`;
    }
    case 'blobData':
      return `${pathFor({ kind: 'blobDir', digest: spec.digest })}/data`;
    case 'repositoriesRoot':
      return REPOSITORIES_ROOT;
    case 'repositoryDir':
      return `${REPOSITORIES_ROOT}/${parseRepositoryName(spec.repository)}`;
    case 'layersDir':
      return `${repositoryDir(spec.repository)}/_layers`;
    case 'layerLink':
      return `${repositoryDir(spec.repository)}/_layers/${digestDir(spec.digest)}/link`;
    case 'manifestRevisionsDir':
      return `${repositoryDir(spec.repository)}/_manifests/revisions`;
    case 'manifestRevisionDir':
      return `${repositoryDir(spec.repository)}/_manifests/revisions/${digestDir(spec.digest)}`;
    case 'manifestRevisionLink':
      return `${pathFor({ kind: 'manifestRevisionDir', repository: spec.repository, digest: spec.digest })}/link`;
    case 'manifestTagsDir':
      return `${repositoryDir(spec.repository)}/_manifests/tags`;
    case 'manifestTagDir':
      return `${repositoryDir(spec.repository)}/_manifests/tags/${parseTag(spec.tag)}`;
    case 'manifestTagCurrentLink':
      return `${pathFor({ kind: 'manifestTagDir', repository: spec.repository, tag: spec.tag })}/current/link`;
    case 'manifestTagIndexDir':
      return `${pathFor({ kind: 'manifestTagDir', repository: spec.repository, tag: spec.tag })}/index`;
    case 'manifestTagIndexEntryLink': {
      const indexDir = pathFor({ kind: 'manifestTagIndexDir', repository: spec.repository, tag: spec.tag });
      return `${indexDir}/${digestDir(spec.digest)}/link`;
    }
    case 'uploadsDir':
      return `${repositoryDir(spec.repository)}/_uploads`;
    case 'uploadDir':
      return `${repositoryDir(spec.repository)}/_uploads/${uploadId(spec.id)}`;
    case 'uploadData':
      return `${pathFor({ kind: 'uploadDir', repository: spec.repository, id: spec.id })}/data`;
    case 'uploadStartedAt':
      return `${pathFor({ kind: 'uploadDir', repository: spec.repository, id: spec.id })}/startedat`;
    case 'uploadHashStatesDir':
      return `${pathFor({ kind: 'uploadDir', repository: spec.repository, id: spec.id })}/hashstates/${algorithmOf(spec.algorithm)}`;
    case 'uploadHashState': {
      const dir = pathFor({ kind: 'uploadHashStatesDir', repository: spec.repository, id: spec.id, algorithm: spec.algorithm });
      if (!Number.isSafeInteger(spec.offset) || spec.offset < 0) {
        throw new RangeError(`a hash state's offset must be a non-negative integer, not ${spec.offset}`);
      }
      // The reference formats the offset with %d: plain decimal, no padding.
      return `${dir}/${spec.offset}`;
    }
    default:
      return unreachable(spec);
  }
}

/**
 * The repository a storage path belongs to, for walks over `repositories/`: the components
 * between the root and the first `_`-prefixed one (`_manifests`, `_layers`, `_uploads`), which
 * no name component can start with. `undefined` when the path is not inside a repository or
 * what lies there is not a valid name (foreign files in a shared bucket).
 */
export function repositoryNameFromPath(path: string): string | undefined {
  const prefix = `${REPOSITORIES_ROOT}/`;
  if (!path.startsWith(prefix)) return undefined;
  const components = path.slice(prefix.length).split('/');
  const marker = components.findIndex((component) => component.startsWith('_'));
  if (marker <= 0) return undefined;
  const name = components.slice(0, marker).join('/');
  try {
    return parseRepositoryName(name);
  } catch {
    return undefined;
  }
}

function repositoryDir(repository: string): string {
  return pathFor({ kind: 'repositoryDir', repository });
}

function digestParts(digest: string): { algorithm: DigestAlgorithm; hex: string } {
  return splitDigest(parseDigest(digest));
}

function digestDir(digest: string): string {
  const { algorithm, hex } = digestParts(digest);
  return `${algorithm}/${hex}`;
}

function uploadId(id: string): string {
  if (!UPLOAD_ID.test(id)) throw new OciError('BLOB_UPLOAD_UNKNOWN', { id: id.slice(0, 300) });
  return id;
}

function algorithmOf(algorithm: string): DigestAlgorithm {
  // Guards callers that build the spec from stored or untyped data.
  if (!isDigestAlgorithm(algorithm)) throw new RangeError(`unsupported digest algorithm "${algorithm}"`);
  return algorithm;
}

function unreachable(spec: never): never {
  throw new Error(`unknown path spec ${JSON.stringify(spec)}`);
}
