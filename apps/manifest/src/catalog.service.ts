import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { RegistryStorage } from '@berth/registry-storage';

/**
 * Every repository of the registry, as the reference's storage/catalog.go lists them (the
 * walk and its order are `RegistryStorage.repositories`), a page at a time.
 */
@Injectable()
export class CatalogService {
  private readonly maxEntries: number;

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.maxEntries = config.catalog.maxentries;
  }

  async list(page: { n?: number; last?: string }): Promise<{ repositories: string[]; more: boolean }> {
    const limit = Math.min(page.n ?? this.maxEntries, this.maxEntries);
    if (limit <= 0) return { repositories: [], more: false };
    // One more than asked for: whether it exists is whether there is a next page. The walk
    // stops as soon as it has them, and skips whole subtrees that sort before `last`.
    const found: string[] = [];
    for await (const name of this.storage.repositories(page.last === undefined ? {} : { after: page.last })) {
      found.push(name);
      if (found.length > limit) break;
    }
    return { repositories: found.slice(0, limit), more: found.length > limit };
  }
}
