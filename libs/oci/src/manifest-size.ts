import { OciError } from './errors/oci-error';

/** The distribution-spec's limit on a manifest body, and the reference's `maxManifestBodySize`. */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

/** The answer to a larger manifest: 413, as the spec asks (the reference answers 400). */
export function manifestTooLarge(): OciError {
  return new OciError('SIZE_INVALID', `a manifest may not exceed ${MANIFEST_SIZE_LIMIT} bytes`, 413);
}
