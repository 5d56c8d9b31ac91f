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
  /**
   * Sibling directories listed ahead of the consumer (default 1: none ahead): a walk over a
   * remote store that waits on one round trip per repository, one after the other, is as slow
   * as the store's latency times the number of repositories (garbage collection asks more).
   */
  ahead?: number;
}

/**
 * Every directory below `repositories/` that may be a repository, as the reference's
 * catalog.go walks them: depth first, children in byte order, which visits names in
 * `lessPath` order; no directory whose name starts with `_` (`_layers`, `_manifests`,
 * `_uploads`) is entered, so the walk never descends into the links. One directory is listed
 * at a time (`ahead` siblings at a time when asked) and only as the consumer asks for more: a
 * consumer that stops early stops the walk.
 */
export async function* repositoryDirectories(driver: StorageDriver, options: WalkOptions = {}): AsyncGenerator<RepositoryDirectory> {
  const { after, signal } = options;
  const ahead = Math.max(1, options.ahead ?? 1);
  async function* below(listing: Promise<string[]>, name: string): AsyncGenerator<RepositoryDirectory> {
    const children = await listing;
    if (name !== '') yield { name, children };
    const entered: { directory: string; name: string }[] = [];
    for (const child of children) {
      const base = baseName(child);
      if (base.startsWith('_')) continue;
      const childName = name === '' ? base : `${name}/${base}`;
      if (after !== undefined && lessPath(childName, after) && !after.startsWith(`${childName}/`)) continue;
      entered.push({ directory: child, name: childName });
    }
    const listings: Promise<string[]>[] = [];
    let listed = 0;
    for (const { name: childName } of entered) {
      if (signal?.aborted) return;
      while (listings.length < ahead && listed < entered.length) {
        const next = listOrEmpty(driver, (entered[listed++] as { directory: string }).directory);
        // Awaited in turn; a consumer that stops early leaves no unhandled rejection.
        next.catch(() => undefined);
        listings.push(next);
      }
      yield* below(listings.shift() as Promise<string[]>, childName);
    }
  }
  if (signal?.aborted) return;
  yield* below(listOrEmpty(driver, pathFor({ kind: 'repositoriesRoot' })), '');
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
