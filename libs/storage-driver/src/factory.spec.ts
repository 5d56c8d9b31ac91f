import { describe, expect, it } from 'vitest';
import { StorageDriverFailure } from './errors';
import { createStorageDriver, parseDriverParams } from './factory';
import { InvalidDriverParamsError } from './factory-errors';
import { BaseDriver } from './base/base-driver';
import { UnusableKeyfileError } from './drivers/gcs/service-account-key';
import { driverNames } from './params';

describe('createStorageDriver', () => {
  it('builds the filesystem and inmemory drivers behind BaseDriver', () => {
    const filesystem = createStorageDriver('filesystem', { rootdirectory: '/tmp/berth-factory-unused' });
    expect(filesystem).toBeInstanceOf(BaseDriver);
    expect(filesystem.name).toBe('filesystem');
    const inmemory = createStorageDriver('inmemory', null);
    expect(inmemory).toBeInstanceOf(BaseDriver);
    expect(inmemory.name).toBe('inmemory');
  });

  it('builds the azure and gcs drivers from their minimal parameters, without a request', () => {
    expect(createStorageDriver('azure', { accountname: 'a', accountkey: 'a2V5', container: 'c' }).name).toBe('azure');
    expect(createStorageDriver('gcs', { bucket: 'b' }).name).toBe('gcs');
  });

  it('refuses azure without a key for shared key credentials, and gcs chunks off the 256 KiB grid', () => {
    expect(() => createStorageDriver('azure', { accountname: 'a', container: 'c' })).toThrow(/storage\.azure\.accountkey/);
    expect(() => createStorageDriver('azure', { accountname: 'a', container: 'c', credentials: { type: 'client_secret' } })).toThrow(
      /storage\.azure\.credentials\.clientid/,
    );
    expect(() => createStorageDriver('azure', { accountname: 'a', accountkey: 'k', container: 'c', retry_delay: 'soon' })).toThrow(/storage\.azure\.retry_delay/);
    expect(() => createStorageDriver('gcs', { bucket: 'b', chunksize: 1000 })).toThrow(/storage\.gcs\.chunksize/);
  });

  it('reads a gcs key file only when the driver loads, refusing it there in the words serve and config check use', async () => {
    const driver = createStorageDriver('gcs', { bucket: 'b', keyfile: '/nonexistent/key.json' });
    await expect(driver.ready?.()).rejects.toThrow(new UnusableKeyfileError('cannot read /nonexistent/key.json: ENOENT'));
  });

  it('builds the s3 and oss drivers from their minimal parameters, without a request', () => {
    expect(createStorageDriver('s3', { region: 'us-east-1', bucket: 'b' }).name).toBe('s3');
    expect(createStorageDriver('oss', { accesskeyid: 'i', accesskeysecret: 's', region: 'oss-cn-hangzhou', bucket: 'images' }).name).toBe('oss');
    expect(() => createStorageDriver('oss', { accesskeyid: 'i', accesskeysecret: 's', region: 'r', bucket: 'B' })).toThrow(/storage\.oss\.bucket/);
  });

  it('refuses the s3 keys the AWS SDK v3 cannot honour, and half a key pair', () => {
    expect(() => createStorageDriver('s3', { region: 'r', bucket: 'b', v4auth: false })).toThrow(/storage\.s3\.v4auth: false is not supported/);
    expect(() => createStorageDriver('s3', { region: 'r', bucket: 'b', accesskey: 'a' })).toThrow(/storage\.s3\.secretkey/);
    expect(() => createStorageDriver('s3', { region: 'r', bucket: 'b', chunksize: 1024 })).toThrow(/storage\.s3\.chunksize/);
    expect(() => createStorageDriver('s3', { region: 'r', bucket: 'b', redirectendpoint: 'https://cdn.example.com/path' })).toThrow(/storage\.s3\.redirectendpoint/);
  });

  it('reports invalid parameters before availability, naming the key', () => {
    expect(() => createStorageDriver('swift', { username: 'u' })).toThrow(InvalidDriverParamsError);
    expect(() => createStorageDriver('filesystem', { maxthreads: 3 })).toThrow(/storage\.filesystem\.maxthreads/);
    expect(() => createStorageDriver('filesystem', { rootdir: '/x' })).toThrow(InvalidDriverParamsError);
  });

  it('answers every configurable driver with a driver or a typed failure, never a missing entry', () => {
    for (const name of driverNames) {
      let outcome: unknown;
      try {
        outcome = createStorageDriver(name, {});
      } catch (error) {
        outcome = error;
      }
      const typed = outcome instanceof BaseDriver || outcome instanceof StorageDriverFailure;
      expect(typed, `${name}: ${String(outcome)}`).toBe(true);
    }
  });
});

describe('parseDriverParams', () => {
  it('applies defaults and coerces strings from REGISTRY_* variables', () => {
    const parsed = parseDriverParams('filesystem', { maxthreads: '50' });
    expect(parsed).toEqual({ ok: true, params: { rootdirectory: '/var/lib/registry', maxthreads: 50 } });
    expect(parseDriverParams('filesystem', null)).toEqual({ ok: true, params: { rootdirectory: '/var/lib/registry', maxthreads: 100 } });
  });

  it('returns the issues with their key paths', () => {
    const parsed = parseDriverParams('swift', { authurl: 'ftp://x', username: 'u', password: 'p', container: 'c', chunksize: -1 });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['authurl', 'chunksize']);
  });
});
