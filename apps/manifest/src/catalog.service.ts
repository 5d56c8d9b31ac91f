import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { pathFor } from '@berth/oci';
import { STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { baseName, listOrEmpty } from './storage-reads';

/**
 * Every repository of the registry, found as the reference's storage/catalog.go finds them:
 * walking `repositories/`, a directory is a repository when it holds `_layers`, and no
 * directory whose name starts with `_` is entered (nested names such as `a/b/c` are found
 * below `a/b`). Names come in the reference's order: path-component-wise, so `a/b` sorts
 * before `a-b` (`lessPath`).
 */
@Injectable()
export class CatalogService {
  private readonly maxEntries: number;

  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.maxEntries = config.catalog.maxentries;
  }

  async list(page: { n?: number; last?: string }): Promise<{ repositories: string[]; more: boolean }> {
    const limit = Math.min(page.n ?? this.maxEntries, this.maxEntries);
    if (limit <= 0) return { repositories: [], more: false };
    // One more than asked for: whether it exists is whether there is a next page.
    const found: string[] = [];
    await this.collect(pathFor({ kind: 'repositoriesRoot' }), '', page.last, limit + 1, found);
    return { repositories: found.slice(0, limit), more: found.length > limit };
  }

  /**
   * Depth first, children in byte order: that visits names in `lessPath` order, so the walk
   * can stop as soon as it has enough, and skip whole subtrees that sort before `last`.
   */
  private async collect(
    directory: string,
    name: string,
    last: string | undefined,
    wanted: number,
    found: string[],
  ): Promise<void> {
    const children = (await listOrEmpty(this.driver, directory)).sort(compareBytes);
    const names = children.map(baseName);
    if (name !== '' && names.includes('_layers') && (last === undefined || lessPath(last, name))) found.push(name);
    for (const [index, child] of children.entries()) {
      if (found.length >= wanted) return;
      const childBase = names[index] ?? '';
      if (childBase.startsWith('_')) continue;
      const childName = name === '' ? childBase : `${name}/${childBase}`;
      if (last !== undefined && lessPath(childName, last) && !last.startsWith(`${childName}/`)) continue;
      await this.collect(child, childName, last, wanted, found);
    }
  }
}

/** Component-wise order (catalog.go `lessPath`): `/` sorts before every other character. */
export function lessPath(a: string, b: string): boolean {
  return compareBytes(a.replaceAll('/', '\u0000'), b.replaceAll('/', '\u0000')) < 0;
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
