import type { StorageDriver } from '@berth/storage-driver';
import { baseName, compareBytes, listOrEmpty } from './listing';
import { pathFor } from './paths';

/** A directory below `repositories/` that may be a repository: its name and its children (paths, byte order). */
export interface RepositoryDirectory {
  name: string;
  children: string[];
}

export interface WalkOptions {
  /** Skip what sorts before this name (`lessPath`), without listing it: a catalog page's `last`. */
  after?: string;
  /** Stops the walk before its next listing. */
  signal?: AbortSignal;
}

/**
 * Every directory below `repositories/` that may be a repository, as the reference's
 * catalog.go walks them: depth first, children in byte order, which visits names in
 * `lessPath` order; no directory whose name starts with `_` (`_layers`, `_manifests`,
 * `_uploads`) is entered, so the walk never descends into the links. One directory is listed
 * at a time and only as the consumer asks for more: a consumer that stops early stops the walk.
 */
export async function* repositoryDirectories(driver: StorageDriver, options: WalkOptions = {}): AsyncGenerator<RepositoryDirectory> {
  const { after, signal } = options;
  async function* below(directory: string, name: string): AsyncGenerator<RepositoryDirectory> {
    if (signal?.aborted) return;
    const children = await listOrEmpty(driver, directory);
    if (name !== '') yield { name, children };
    for (const child of children) {
      if (signal?.aborted) return;
      const base = baseName(child);
      if (base.startsWith('_')) continue;
      const childName = name === '' ? base : `${name}/${base}`;
      if (after !== undefined && lessPath(childName, after) && !after.startsWith(`${childName}/`)) continue;
      yield* below(child, childName);
    }
  }
  yield* below(pathFor({ kind: 'repositoriesRoot' }), '');
}

/**
 * Every repository, in the reference's catalog order: a directory is a repository when it
 * holds `_layers` (catalog.go), nested names (`a/b/c`) included.
 */
export async function* repositories(driver: StorageDriver, options: WalkOptions = {}): AsyncGenerator<string> {
  for await (const { name, children } of repositoryDirectories(driver, options)) {
    if (options.after !== undefined && !lessPath(options.after, name)) continue;
    if (children.some((child) => baseName(child) === '_layers')) yield name;
  }
}

/** Component-wise order (catalog.go `lessPath`): `/` sorts before every other character. */
export function lessPath(a: string, b: string): boolean {
  return compareBytes(a.replaceAll('/', '\u0000'), b.replaceAll('/', '\u0000')) < 0;
}
