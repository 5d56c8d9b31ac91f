import { readFixture } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { loadConfigFromString, parseConfig } from './load-config';
import { storageDriverOf } from './storage-driver-of';

const seed = readFixture('seed-config.yml');

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('REGISTRY_* overrides', () => {
  it('sets a driver parameter and the listen address', () => {
    const config = loadConfigFromString(seed, 'config.yml', {
      REGISTRY_STORAGE_SWIFT_PASSWORD: 'from-the-environment',
      REGISTRY_HTTP_ADDR: ':6000',
    });
    expect(storageDriverOf(config).params).toMatchObject({ password: 'from-the-environment', username: 'admin' });
    expect(config.http.addr).toBe(':6000');
  });

  it('reads each value as YAML', () => {
    const config = loadConfigFromString(seed, 'config.yml', {
      'REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS': '[DENY]',
      REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: '5',
      REGISTRY_LOG_FIELDS: '{service: berth, site: lab}',
    });
    expect(config.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'], 'x-frame-options': ['DENY'] });
    expect(config.health.storagedriver.threshold).toBe(5);
    expect(config.log.fields).toEqual({ service: 'berth', site: 'lab' });
  });

  it('applies variables sorted by name: REGISTRY_STORAGE before REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY', () => {
    // Given in the "wrong" order on purpose: the deeper one would be wiped if applied first.
    const config = loadConfigFromString(seed, 'config.yml', {
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/images',
      REGISTRY_STORAGE: 'filesystem',
    });
    expect(storageDriverOf(config)).toEqual({ name: 'filesystem', params: { rootdirectory: '/srv/images', maxthreads: 100 } });
  });

  it('replaces the whole storage section with REGISTRY_STORAGE, as the reference does', () => {
    const file = seed.replace('storage:\n', 'storage:\n  delete:\n    enabled: true\n');
    const config = loadConfigFromString(file, 'config.yml', {
      REGISTRY_STORAGE: 's3',
      REGISTRY_STORAGE_S3_REGION: 'us-east-1',
      REGISTRY_STORAGE_S3_BUCKET: 'images',
    });
    expect(storageDriverOf(config)).toMatchObject({ name: 's3', params: { region: 'us-east-1', bucket: 'images' } });
    // The file's `delete` went with the rest of the section.
    expect(config.storage.delete.enabled).toBe(false);
  });

  it('refuses a second driver brought in by a variable, naming it', () => {
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_STORAGE_S3_REGION: 'us-east-1' }))).toBe(
      'config.yml: storage: exactly one storage driver must be configured, found 2: s3 (from REGISTRY_STORAGE_S3_REGION), swift',
    );
  });

  it('names the variable, not the file, when a value it set is wrong', () => {
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_HTTP_ADDR: '6000' }))).toBe(
      'REGISTRY_HTTP_ADDR: http.addr: "6000" is not a listen address (use HOST:PORT or :PORT, e.g. :5000)',
    );
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_STORAGE_SWIFT_PASSWROD: 'x' }))).toBe(
      'REGISTRY_STORAGE_SWIFT_PASSWROD: storage.swift.passwrod: unknown key',
    );
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_STORAGE: 's3' }))).toBe(
      ['REGISTRY_STORAGE: storage.s3.region: missing: this key is required', 'REGISTRY_STORAGE: storage.s3.bucket: missing: this key is required'].join('\n'),
    );
  });

  it('ignores, with a warning, variables naming no key, as the reference does (Kubernetes sets REGISTRY_PORT)', () => {
    const { config, warnings } = parseConfig(seed, 'config.yml', {
      REGISTRY_PORT: 'tcp://10.0.0.1:5000',
      REGISTRY_HTTP_HEDAERS: '{}',
      REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES: 'true',
      PATH: '/usr/bin',
    });
    expect(config.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
    expect(config.notifications.events.includereferences).toBe(false);
    expect(warnings).toEqual([
      'ignoring environment variable REGISTRY_HTTP_HEDAERS: http has no key hedaers',
      "ignoring environment variable REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES: notifications.events is named EVENTCONFIG in the reference's variables (…_EVENTCONFIG_…)",
      'ignoring environment variable REGISTRY_PORT: the configuration has no key port',
    ]);
  });

  it('follows Go field names where they differ from the YAML key', () => {
    const config = loadConfigFromString(seed, 'config.yml', { REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES: 'true' });
    expect(config.notifications.events.includereferences).toBe(true);
  });

  it('indexes lists: an existing entry, or one just past the end', () => {
    const config = loadConfigFromString(seed, 'config.yml', {
      REGISTRY_NOTIFICATIONS_ENDPOINTS_0_NAME: 'hook',
      REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL: 'https://hooks.example.com/',
    });
    expect(config.notifications.endpoints).toMatchObject([{ name: 'hook', url: 'https://hooks.example.com/' }]);
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_NOTIFICATIONS_ENDPOINTS_3_NAME: 'x' }))).toBe(
      'REGISTRY_NOTIFICATIONS_ENDPOINTS_3_NAME: notifications.endpoints: index 3 is past the end of the list (it has 0 entries)',
    );
  });

  it('refuses a value that is not YAML', () => {
    expect(messageOf(() => loadConfigFromString(seed, 'config.yml', { REGISTRY_LOG_FIELDS: '{a: [' }))).toMatch(
      /^REGISTRY_LOG_FIELDS: log\.fields: not valid YAML: line 2, column 1: unexpected end of the stream/,
    );
  });

  it('reads only the environment it is given', () => {
    process.env.REGISTRY_HTTP_ADDR = 'not an address';
    try {
      expect(loadConfigFromString(seed, 'config.yml', {}).http.addr).toBe(':5000');
    } finally {
      delete process.env.REGISTRY_HTTP_ADDR;
    }
  });
});
