export { descriptorOf, type ErrorCode, type ErrorDescriptor, errorDescriptors, isErrorCode } from './errors/codes';
export {
  OciError,
  type OciErrorBody,
  type OciErrorHeaders,
  type OciWireError,
  renderErrors,
} from './errors/oci-error';
export { asOciError } from './errors/as-oci-error';
export {
  checkDigest,
  describeDigestProblem,
  type Digest,
  type DigestAlgorithm,
  type DigestCheck,
  digestOf,
  type DigestProblem,
  isDigestAlgorithm,
  parseDigest,
  splitDigest,
} from './digest';
export {
  checkRepositoryName,
  isValidRepositoryName,
  isValidTag,
  type ManifestReference,
  parseReference,
  parseRepositoryName,
  parseTag,
  REPOSITORY_NAME_MAX_LENGTH,
  type RepositoryNameCheck,
} from './names';
export {
  classifyManifest,
  essenceOf,
  isManifestMediaType,
  type ManifestKind,
  type ManifestMediaType,
  MediaType,
  OCI_EMPTY_DESCRIPTOR,
  parseManifestJson,
} from './media-types';
export { MANIFEST_SIZE_LIMIT, manifestTooLarge } from './manifest-size';
export type { Descriptor, Platform } from './descriptor';
