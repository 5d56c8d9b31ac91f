import { InvalidPathError } from './errors';

/**
 * The driver path grammar, Distribution's `PathRegexp` (`^(/[A-Za-z0-9._-]+)+$`), made
 * stricter: `.` and `..` components are refused too, because the filesystem driver joins
 * paths onto its root directory and must never step outside it.
 */
const COMPONENT = /^[A-Za-z0-9._-]+$/;

/** A valid path other than the root, in one test: every call to a driver checks its path. */
const VALID_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._-]+)+$/;

/** The root of a driver's namespace: valid only where the reference accepts it (stat, list, walk). */
export const ROOT_PATH = '/';

/**
 * Throws `InvalidPathError` unless `path` is `/name(/name)*` with every name in
 * `[A-Za-z0-9._-]+` and neither `.` nor `..`. `allowRoot` admits `/` itself.
 */
export function assertValidPath(path: string, options: { allowRoot?: boolean } = {}): void {
  if (typeof path !== 'string') throw new InvalidPathError(String(path), 'not a string');
  if (VALID_PATH.test(path)) return;
  // Invalid: the checks below say why.
  if (path === ROOT_PATH) {
    if (options.allowRoot) return;
    throw new InvalidPathError(path, 'the root is not a file');
  }
  if (!path.startsWith('/')) throw new InvalidPathError(path, 'must be absolute');
  if (path.endsWith('/')) throw new InvalidPathError(path, 'must not end with "/"');
  for (const name of path.slice(1).split('/')) {
    if (name === '') throw new InvalidPathError(path, 'empty path component');
    if (name === '.' || name === '..') throw new InvalidPathError(path, `"${name}" is not allowed`);
    if (!COMPONENT.test(name)) throw new InvalidPathError(path, 'components take only [A-Za-z0-9._-]');
  }
}

/** True when `name` may be one component of a driver path (used to hide a driver's private files). */
export function isValidPathComponent(name: string): boolean {
  return COMPONENT.test(name) && name !== '.' && name !== '..';
}

/** The driver path of the child `name` of the directory `parent` (which may be the root). */
export function childPath(parent: string, name: string): string {
  return parent === ROOT_PATH ? `/${name}` : `${parent}/${name}`;
}

/** The components of a valid path; `[]` for the root. */
export function pathComponents(path: string): string[] {
  return path === ROOT_PATH ? [] : path.slice(1).split('/');
}
