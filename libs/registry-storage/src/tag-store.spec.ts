import { NO_LINK_CACHE } from '@berth/contracts';
import { digestOf } from '@berth/oci';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { TagStore } from './tag-store';

const TAGS = '/docker/registry/v2/repositories/app/_manifests/tags';
const one = digestOf('one');
const two = digestOf('two');

describe('TagStore', () => {
  let driver: StorageDriver;
  let tags: TagStore;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    tags = new TagStore(driver, NO_LINK_CACHE);
  });

  it('writes the index link and the current link as the reference does', async () => {
    await tags.tag('app', 'latest', one);
    await tags.tag('app', 'latest', two);
    expect((await driver.getContent(`${TAGS}/latest/current/link`)).toString()).toBe(two);
    for (const digest of [one, two]) {
      const link = `${TAGS}/latest/index/sha256/${digest.slice(7)}/link`;
      expect((await driver.getContent(link)).toString()).toBe(digest);
    }
    expect(await tags.current('app', 'latest')).toBe(two);
    expect(await tags.current('app', 'other')).toBeUndefined();
    const history: string[] = [];
    for await (const digest of tags.history('app', 'latest')) history.push(digest);
    expect(history.sort()).toEqual([one, two].sort());
  });

  it('lists tags in byte order, none for a repository without a tags directory', async () => {
    expect(await tags.list('app')).toBeUndefined();
    for (const tag of ['b', 'a', 'C', 'a1', 'a_']) await tags.tag('app', tag, one);
    expect(await tags.list('app')).toEqual(['C', 'a', 'a1', 'a_', 'b']);
  });

  it('removes a tag with its directory, and says when there was none', async () => {
    await tags.tag('app', 'v1', one);
    expect(await tags.untag('app', 'v1')).toBe(true);
    expect(await tags.untag('app', 'v1')).toBe(false);
    expect(await tags.current('app', 'v1')).toBeUndefined();
    expect(await tags.list('app')).toEqual([]);
  });

  it('finds the tags whose current link names a digest', async () => {
    await tags.tag('app', 'a', one);
    await tags.tag('app', 'b', two);
    await tags.tag('app', 'c', one);
    // `b` once named `one`; only the current link counts.
    await tags.tag('app', 'b', one);
    await tags.tag('app', 'b', two);
    expect(await tags.pointingAt('app', one)).toEqual(['a', 'c']);
    expect(await tags.pointingAt('nothing', one)).toEqual([]);
  });
});
