import { type Digest, parseDigest } from './digest';
import { OciError } from './errors/oci-error';

/**
 * The reference's cap on a repository name (reference.NameTotalLengthMax); the spec asks
 * for fewer than 256 characters.
 */
export const REPOSITORY_NAME_MAX_LENGTH = 255;

// The distribution-spec's name grammar, anchored:
//   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// Every component starts and ends with [a-z0-9], so `.`, `..`, empty components, a leading
// or trailing `/`, `%`-escapes and upper case cannot match: the grammar alone keeps a name
// from escaping its directory in the storage layout. Separators and components use disjoint
// character classes, so matching is linear (and the length is capped before matching anyway).
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPOSITORY_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

// The spec's tag grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. A tag cannot start with `.`
// or `-` and cannot hold `/`, so `.`, `..` and traversal are out by construction.
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export type RepositoryNameCheck = { ok: true } | { ok: false; problem: string };

/** Checks a repository name without throwing; the problem says what is wrong, for the error's detail. */
export function checkRepositoryName(name: string): RepositoryNameCheck {
  if (name === '') return { ok: false, problem: 'the repository name is empty' };
  if (name.length > REPOSITORY_NAME_MAX_LENGTH) {
    return { ok: false, problem: `the repository name is longer than ${REPOSITORY_NAME_MAX_LENGTH} characters` };
  }
  if (REPOSITORY_NAME.test(name)) return { ok: true };
  if (name.split('/').some((component) => component === '')) {
    return { ok: false, problem: 'the repository name has an empty path component' };
  }
  if (/[A-Z]/.test(name)) return { ok: false, problem: 'the repository name has upper-case letters' };
  return {
    ok: false,
    problem:
      'each path component of a repository name must be lower-case letters and digits, separated by ".", "_", "__" or dashes',
  };
}

export function isValidRepositoryName(name: string): boolean {
  return checkRepositoryName(name).ok;
}

/** A repository name from client input, or NAME_INVALID (400). */
export function parseRepositoryName(name: string): string {
  const checked = checkRepositoryName(name);
  if (!checked.ok) throw new OciError('NAME_INVALID', { name: echo(name), reason: checked.problem });
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** A tag from client input, or TAG_INVALID (400). */
export function parseTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new OciError('TAG_INVALID', {
      tag: echo(tag),
      reason: 'a tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}',
    });
  }
  return tag;
}

/** A manifest is addressed by tag or by digest. */
export type ManifestReference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/**
 * The `<reference>` of `/v2/<name>/manifests/<reference>`. The tag grammar has no `:` and
 * every digest has one, so the colon decides which grammar applies: a bad digest is
 * DIGEST_INVALID, a bad tag TAG_INVALID. The gateway answers either 404 to a client (the
 * spec allows no other format; the reference's router has no route for it).
 */
export function parseReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference) };
  return { kind: 'tag', tag: parseTag(reference) };
}

function echo(value: string): string {
  return value.length > 300 ? `${value.slice(0, 300)}…` : value;
}
