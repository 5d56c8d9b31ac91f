import { describe, expect, it } from 'vitest';
import { StorageDriverFailure, UnsupportedMethodError } from './errors';
import { createStorageDriver, parseDriverParams } from './factory';
import { DriverUnavailableError, InvalidDriverParamsError } from './factory-errors';
import { BaseDriver } from './base/base-driver';
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

  it.each(['s3', 'azure', 'gcs', 'oss'] as const)('says the %s driver is not in this build', (name) => {
    const valid = {
      s3: { region: 'us-east-1', bucket: 'b' },
      azure: { accountname: 'a', container: 'c' },
      gcs: { bucket: 'b' },
      oss: { accesskeyid: 'i', accesskeysecret: 's', region: 'r', bucket: 'b' },
    }[name];
    expect(parseDriverParams(name, valid).ok).toBe(true);
    expect(() => createStorageDriver(name, valid)).toThrow(DriverUnavailableError);
    expect(() => createStorageDriver(name, valid)).toThrow(`the ${name} driver is not available in this build yet`);
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

  it('keeps the unavailable-driver error apart from UnsupportedMethodError', () => {
    expect(new DriverUnavailableError('swift')).not.toBeInstanceOf(UnsupportedMethodError);
  });
});
