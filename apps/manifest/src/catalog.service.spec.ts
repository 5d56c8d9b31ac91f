import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { media, pushBlob, testConfig } from '../test/manifest-fixtures';
import { CatalogService } from './catalog.service';

describe('CatalogService', () => {
  let driver: StorageDriver;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
  });

  it('finds repositories by their _layers directory, nested ones included', async () => {
    for (const name of ['z', 'a/0', 'a', 'a.b', 'a/b/c']) await pushBlob(driver, name, name, media.ociLayer);
    // A directory that only holds other repositories is not one itself.
    const catalog = new CatalogService(new RegistryStorage(driver), testConfig());
    expect(await catalog.list({})).toEqual({ repositories: ['a', 'a/0', 'a/b/c', 'a.b', 'z'], more: false });
  });

  it('resumes after last, whether or not last still exists', async () => {
    for (const name of ['a', 'a/b', 'b', 'c/d']) await pushBlob(driver, name, name, media.ociLayer);
    const catalog = new CatalogService(new RegistryStorage(driver), testConfig());
    expect(await catalog.list({ last: 'a' })).toEqual({ repositories: ['a/b', 'b', 'c/d'], more: false });
    expect(await catalog.list({ last: 'a/a', n: 1 })).toEqual({ repositories: ['a/b'], more: true });
    expect(await catalog.list({ last: 'bb' })).toEqual({ repositories: ['c/d'], more: false });
    expect(await catalog.list({ last: 'c/d' })).toEqual({ repositories: [], more: false });
  });

  it('answers an empty catalog for an empty storage', async () => {
    expect(await new CatalogService(new RegistryStorage(driver), testConfig()).list({ n: 10 })).toEqual({ repositories: [], more: false });
  });
});
