import { describe, expect, it } from 'vitest';
import { InMemoryDriver } from '../drivers/inmemory/inmemory.driver';
import { StorageDriverFailure } from '../errors';
import { createStorageDriver } from '../factory';
import { BaseDriver } from './base-driver';
import { DeferredDriver } from './deferred-driver';

describe('DeferredDriver', () => {
  it('loads its driver once, on the first call, and passes every call through', async () => {
    let loads = 0;
    const driver = new DeferredDriver(
      'inmemory',
      async () => {
        loads++;
        return new InMemoryDriver();
      },
      { purgesOrphans: false },
    );
    expect(loads).toBe(0);
    await driver.putContent('/a/b', Buffer.from('x'));
    expect((await driver.getContent('/a/b')).toString()).toBe('x');
    expect(await driver.list('/a')).toEqual(['/a/b']);
    const walked: string[] = [];
    for await (const info of driver.walk('/')) walked.push(info.path);
    expect(walked).toEqual(['/a', '/a/b']);
    expect(loads).toBe(1);
    expect(driver.purgeOrphans).toBeUndefined();
  });

  it('fails every call with the load\'s failure, first of all ready()', async () => {
    const driver = new BaseDriver(new DeferredDriver('broken', () => Promise.reject(new Error('no such key file')), { purgesOrphans: true }));
    await expect(driver.ready()).rejects.toThrow(StorageDriverFailure);
    await expect(driver.stat('/')).rejects.toThrow(/no such key file/);
    expect(driver.purgeOrphans).toBeDefined();
  });

  it('is what the factory builds for the drivers of an SDK, with their optional methods', () => {
    expect(createStorageDriver('gcs', { bucket: 'b' }).purgeOrphans).toBeDefined();
    expect(createStorageDriver('azure', { accountname: 'a', accountkey: 'a2V5', container: 'c' }).purgeOrphans).toBeDefined();
    expect(createStorageDriver('swift', { authurl: 'http://127.0.0.1:1/auth/v1.0', username: 'u', password: 'p', container: 'c' }).purgeOrphans).toBeDefined();
    expect(createStorageDriver('s3', { region: 'us-east-1', bucket: 'b' }).purgeOrphans).toBeUndefined();
    expect(createStorageDriver('oss', { accesskeyid: 'i', accesskeysecret: 's', region: 'oss-cn-hangzhou', bucket: 'images' }).purgeOrphans).toBeUndefined();
  });

  it('declares purgeOrphans exactly where the loaded driver has it', async () => {
    const { AzureDriver } = await import('../drivers/azure/azure.driver');
    const { GcsDriver } = await import('../drivers/gcs/gcs.driver');
    const { SwiftDriver } = await import('../drivers/swift/swift.driver');
    const { ObjectStoreDriver } = await import('../drivers/object-store/object-store.driver');
    for (const loaded of [AzureDriver, GcsDriver, SwiftDriver]) expect(typeof loaded.prototype.purgeOrphans, loaded.name).toBe('function');
    expect('purgeOrphans' in ObjectStoreDriver.prototype).toBe(false);
  });
});
