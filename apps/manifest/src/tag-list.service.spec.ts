import { OciError } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../test/manifest-fixtures';
import { TagListService } from './tag-list.service';

const one = sha256('one');

describe('TagListService', () => {
  let storage: RegistryStorage;
  let tags: TagListService;

  beforeEach(() => {
    storage = new RegistryStorage(createStorageDriver('inmemory', {}));
    tags = new TagListService(storage);
  });

  it('pages through tags in byte order', async () => {
    for (const tag of ['b', 'a', 'C', 'a1', 'a_']) await storage.tags.tag('app', tag, one);
    expect(await tags.list('app', {})).toEqual({ name: 'app', tags: ['C', 'a', 'a1', 'a_', 'b'], more: false });
    expect(await tags.list('app', { n: 3 })).toEqual({ name: 'app', tags: ['C', 'a', 'a1'], more: true });
    expect(await tags.list('app', { n: 3, last: 'a1' })).toEqual({ name: 'app', tags: ['a_', 'b'], more: false });
    expect(await tags.list('app', { n: 0 })).toEqual({ name: 'app', tags: [], more: true });
    // `last` need not be a tag that exists.
    expect(await tags.list('app', { last: 'a0' })).toEqual({ name: 'app', tags: ['a1', 'a_', 'b'], more: false });
  });

  it('knows a repository without tags directory as unknown, and one whose tags were deleted as empty', async () => {
    await expect(tags.list('app', {})).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    await expect(tags.list('app', {})).rejects.toBeInstanceOf(OciError);
    await storage.tags.tag('app', 'v1', one);
    expect(await storage.tags.untag('app', 'v1')).toBe(true);
    expect(await tags.list('app', {})).toEqual({ name: 'app', tags: [], more: false });
  });
});
