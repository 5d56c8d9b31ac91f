import { Injectable } from '@nestjs/common';
import { OciError } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';

/** `GET /v2/<name>/tags/list`: a repository's tags, paged as the reference pages them. */
@Injectable()
export class TagListService {
  constructor(private readonly storage: RegistryStorage) {}

  /**
   * One page of tags in lexical order after `last`. A repository without a tags directory is
   * unknown (NAME_UNKNOWN), as in the reference; one whose tags were all deleted lists none.
   */
  async list(
    repository: string,
    page: { n?: number; last?: string },
  ): Promise<{ name: string; tags: string[]; more: boolean }> {
    const all = await this.storage.tags.list(repository);
    if (all === undefined) throw new OciError('NAME_UNKNOWN', { name: repository });
    const after = page.last === undefined ? all : all.filter((tag) => tag > page.last!);
    const n = page.n ?? after.length;
    return { name: repository, tags: after.slice(0, n), more: after.length > n };
  }
}
