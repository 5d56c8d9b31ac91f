/**
 * An `Accept` header allows a media type when it is absent, names it, or names a wildcard.
 * Parameters (`;q=0.5`) are ignored; the header's types are lowered (RFC 9110 §8.3.1: they
 * compare case-insensitively). Old Docker clients that accept only schema 1 get
 * MANIFEST_UNKNOWN, as the reference answers clients that cannot take an OCI manifest.
 */
export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const accepted = header.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  return accepted.some((type) => type === '*/*' || type === mediaType || type === 'application/*');
}
