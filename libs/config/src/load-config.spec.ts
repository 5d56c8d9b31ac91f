import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { loadConfig, loadConfigFromString, parseConfig } from './load-config';
import { storageDriverOf } from './storage-driver-of';

const seedFile = fixturePath('seed-config.yml');
const noEnv = {};

describe('loadConfig', () => {
  it('loads the seed configuration exactly as written, with the reference defaults around it', () => {
    const config = loadConfig(seedFile, noEnv);
    expect(config.version).toBe('0.1');
    expect(config.log).toEqual({
      level: 'info',
      formatter: 'text',
      fields: { service: 'registry' },
      accesslog: { disabled: false },
      hooks: [],
      reportcaller: false,
    });
    expect(storageDriverOf(config)).toEqual({
      name: 'swift',
      params: {
        tenant: 'admin',
        username: 'admin',
        password: '5c8d15f732104053',
        authurl: 'http://10.0.10.216:5000/v2.0',
        container: 'docker_registry',
        chunksize: 20 * 1024 * 1024,
      },
    });
    expect(config.http.addr).toBe(':5000');
    expect(config.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
    expect(config.health.storagedriver).toEqual({ enabled: true, interval: 10_000, threshold: 3 });
    expect(config.storage.maintenance).toEqual({
      uploadpurging: { enabled: true, age: 168 * 3_600_000, interval: 24 * 3_600_000, dryrun: false },
      readonly: { enabled: false },
    });
    expect(config.storage.delete.enabled).toBe(false);
    expect(config.storage.redirect.disable).toBe(false);
    expect(config.catalog.maxentries).toBe(1000);
    expect(config.auth).toBeUndefined();
    expect(config.proxy).toBeUndefined();
    expect(config.berth).toEqual({
      upload: { addr: '127.0.0.1:0', automaticcrossmount: true },
      debug: {},
      health: { storageprobe: { enabled: false, readonlyonfailure: false } },
      bus: { requesttimeout: 30_000, keyprefix: 'berth' },
      failedlogins: { limit: 10, window: 300_000, delay: 2_000 },
      log: { slowstorage: 1_000 },
      gc: { enabled: false, interval: 86_400_000, reviewdelay: 86_400_000, dryrun: false, deleteuntagged: false },
      tokenservice: {
        enabled: false,
        path: '/auth/token',
        realm: 'berth',
        signingkeys: [],
        expiration: 300_000,
        refreshexpiration: 2_592_000_000,
        anonymouspull: false,
        admins: [],
        rules: [],
      },
    });
  });

  it('returns a frozen object', () => {
    const config = loadConfig(seedFile, noEnv);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage.driver.params)).toBe(true);
    expect(Object.isFrozen(config.http.headers['X-Content-Type-Options'])).toBe(true);
  });

  it('loads a filesystem configuration with every storage setting', () => {
    const config = loadConfigFromString(
      [
        'version: 0.1',
        'loglevel: DEBUG',
        'storage:',
        '  filesystem:',
        '    rootdirectory: /srv/registry',
        '    maxthreads: 50',
        '  delete: {enabled: true}',
        '  redirect: {disable: yes}',
        '  cache: {layerinfo: inmemory, blobdescriptorsize: 500}',
        '  maintenance:',
        '    uploadpurging: {enabled: false, age: 1h30m, interval: 500ms, dryrun: true}',
        '    readonly: {enabled: true}',
        '  tag: {concurrencylimit: 8}',
        'http:',
        '  addr: 127.0.0.1:6000',
        '  draintimeout: 60s',
        '  debug: {addr: "localhost:5001", prometheus: {enabled: true}}',
        'catalog: {maxentries: 0}',
      ].join('\n'),
      'fs.yml',
      noEnv,
      { onWarning: () => {} },
    );
    expect(storageDriverOf(config)).toEqual({ name: 'filesystem', params: { rootdirectory: '/srv/registry', maxthreads: 50 } });
    expect(config.log.level).toBe('debug');
    expect(config.storage).toMatchObject({
      delete: { enabled: true },
      redirect: { disable: true },
      cache: { blobdescriptor: 'inmemory', blobdescriptorsize: 500 },
      maintenance: { uploadpurging: { enabled: false, age: 5_400_000, interval: 500, dryrun: true }, readonly: { enabled: true } },
      tag: { concurrencylimit: 8 },
    });
    expect(config.http).toMatchObject({ addr: '127.0.0.1:6000', draintimeout: 60_000 });
    expect(config.http.debug).toEqual({ addr: 'localhost:5001', prometheus: { enabled: true, path: '/metrics' } });
    // The reference's rule: 0 means the default.
    expect(config.catalog.maxentries).toBe(1000);
  });

  it('takes a driver with no parameters, and a bare driver name, with the driver defaults', () => {
    const empty = loadConfigFromString('version: 0.1\nstorage:\n  filesystem:\n', 'a.yml', noEnv);
    expect(storageDriverOf(empty)).toEqual({ name: 'filesystem', params: { rootdirectory: '/var/lib/registry', maxthreads: 100 } });
    const bare = loadConfigFromString('version: 0.1\nstorage: inmemory\n', 'b.yml', noEnv);
    expect(storageDriverOf(bare)).toEqual({ name: 'inmemory', params: {} });
  });

  it('keeps scalars as written: a numeric password keeps its leading zero and all its digits', () => {
    const config = loadConfigFromString(
      'version: 0.1\nstorage:\n  swift: {authurl: "https://k/v3", username: u, password: 0123, container: 5813400000000001}\n',
      'c.yml',
      noEnv,
    );
    expect(storageDriverOf(config).params).toMatchObject({ password: '0123', container: '5813400000000001' });
  });

  it('reads durations in Go syntax and bare integers as nanoseconds', () => {
    const config = loadConfigFromString(
      'version: 0.1\nstorage: inmemory\nhealth: {storagedriver: {enabled: true, interval: 2000000000}}\nredis: {dialtimeout: 1.5s}\n',
      'd.yml',
      noEnv,
    );
    expect(config.health.storagedriver.interval).toBe(2000);
    expect(config.redis.dialtimeout).toBe(1500);
  });

  it('fills notification endpoint and health check defaults as the reference does', () => {
    const config = loadConfigFromString(
      [
        'version: 0.1',
        'storage: inmemory',
        'notifications:',
        '  endpoints:',
        '    - name: hook',
        '      url: https://hooks.example.com/registry',
        '      headers: {Authorization: [Bearer abc]}',
        'health:',
        '  tcp: [{addr: "redis:6379"}]',
        'proxy: {remoteurl: https://registry-1.docker.io}',
        'auth: {htpasswd: {realm: basic-realm, path: /auth/htpasswd}}',
      ].join('\n'),
      'e.yml',
      noEnv,
    );
    expect(config.notifications.endpoints[0]).toEqual({
      name: 'hook',
      disabled: false,
      url: 'https://hooks.example.com/registry',
      headers: { Authorization: ['Bearer abc'] },
      timeout: 1000,
      threshold: 10,
      backoff: 1000,
      ignoredmediatypes: [],
      ignore: { mediatypes: [], actions: [] },
    });
    expect(config.health.tcp).toEqual([{ addr: 'redis:6379', interval: 10_000, threshold: 0 }]);
    expect(config.proxy).toEqual({ remoteurl: 'https://registry-1.docker.io', ttl: 168 * 3_600_000 });
    expect(config.auth).toEqual({ htpasswd: { realm: 'basic-realm', path: '/auth/htpasswd' } });
  });

  it('warns about deprecated keys', () => {
    const { warnings } = parseConfig('version: 0.1\nloglevel: warn\nstorage: {inmemory: , cache: {layerinfo: inmemory}}\n', 'w.yml', noEnv);
    expect(warnings).toEqual([
      'w.yml: loglevel is deprecated: use log.level',
      'w.yml: storage.cache.layerinfo is deprecated: use storage.cache.blobdescriptor',
    ]);
  });

  it('names the file it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    expect(() => loadConfig(join(dir, 'nope.yml'), noEnv)).toThrow(`${join(dir, 'nope.yml')}: cannot read the configuration: no such file`);
  });

  it('names the file in messages when loading from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    const file = join(dir, 'config.yml');
    writeFileSync(file, readFileSync(seedFile, 'utf8').replace('addr: :5000', 'adr: :5000'));
    expect(() => loadConfig(file, noEnv)).toThrow(new ConfigError([{ source: file, key: 'http.adr', message: 'unknown key' }]));
  });
});
