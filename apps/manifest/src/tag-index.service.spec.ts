import { type Digest, OciError } from '@berth/oci';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../test/manifest-fixtures';
import { TagIndex } from './tag-index.service';

const TAGS = '/docker/registry/v2/repositories/app/_manifests/tags';
const one = sha256('one') as Digest;
const two = sha256('two') as Digest;

describe('TagIndex', () => {
  let driver: StorageDriver;
  let tags: TagIndex;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    tags = new TagIndex(driver);
  });

  it('writes the index link and the current link as the reference does', async () => {
    await tags.tag('app', 'latest', one);
    await tags.tag('app', 'latest', two);
    expect((await driver.getContent(`${TAGS}/latest/current/link`)).toString()).toBe(two);
    for (const digest of [one, two]) {
      const link = `${TAGS}/latest/index/sha256/${digest.slice(7)}/link`;
      expect((await driver.getContent(link)).toString()).toBe(digest);
    }
    expect(await tags.resolve('app', 'latest')).toBe(two);
    expect(await tags.resolve('app', 'other')).toBeUndefined();
  });

  it('pages through tags in byte order', async () => {
    for (const tag of ['b', 'a', 'C', 'a1', 'a_']) await tags.tag('app', tag, one);
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
    await tags.tag('app', 'v1', one);
    expect(await tags.untag('app', 'v1')).toBe(true);
    expect(await tags.untag('app', 'v1')).toBe(false);
    expect(await tags.list('app', {})).toEqual({ name: 'app', tags: [], more: false });
  });

  it('finds the tags whose current link names a digest', async () => {
    await tags.tag('app', 'a', one);
    await tags.tag('app', 'b', two);
    await tags.tag('app', 'c', one);
    // `b` once named `one`; only the current link counts.
    await tags.tag('app', 'b', one);
    await tags.tag('app', 'b', two);
    expect(await tags.tagsPointingAt('app', one)).toEqual(['a', 'c']);
    expect(await tags.tagsPointingAt('nothing', one)).toEqual([]);
  });
});
