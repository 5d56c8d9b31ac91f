import { fixturePath } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigFromString } from './load-config';
import { maskSecrets, redact } from './mask-secrets';
import { printConfig } from './print-config';
import { storageDriverOf } from './storage-driver-of';

const seedFile = fixturePath('seed-config.yml');

/** A file with a value under every secret key berth knows, and look-alikes that are not secrets. */
const everySecret = [
  'version: 0.1',
  'log:',
  '  hooks:',
  '    - type: mail',
  '      options: {smtp: {addr: "mail:25", username: ops, password: smtp-password}}',
  'storage:',
  '  gcs:',
  '    bucket: images',
  '    keyfile: /etc/gcs/key.json',
  '    credentials: {type: service_account, private_key: "-----BEGIN PRIVATE KEY-----", client_email: r@p.iam}',
  'http:',
  '  secret: http-hmac-secret',
  '  tls: {certificate: /tls/cert.pem, key: /tls/key.pem}',
  'redis: {addr: "redis:6379", password: redis-password}',
  'proxy: {remoteurl: "https://hub-user:hub-url-password@registry-1.docker.io", username: hub-user, password: hub-password}',
  'notifications:',
  '  endpoints:',
  '    - name: hook',
  '      url: https://hooks.example.com/',
  '      headers: {Authorization: [Bearer webhook-token], X-Request-Source: [berth]}',
  'health:',
  '  http:',
  '    - {uri: "https://upstream/health", headers: {X-Api-Key: [health-api-key]}}',
  'reporting:',
  '  bugsnag: {apikey: bugsnag-key}',
  '  newrelic: {licensekey: newrelic-license, name: berth}',
].join('\n');

const secretValues = [
  'smtp-password',
  '-----BEGIN PRIVATE KEY-----',
  'r@p.iam',
  'http-hmac-secret',
  'redis-password',
  'hub-url-password',
  'hub-password',
  'Bearer webhook-token',
  'health-api-key',
  'bugsnag-key',
  'newrelic-license',
];

describe('maskSecrets', () => {
  it('masks every secret of the seed configuration and leaves the rest', () => {
    const config = loadConfig(seedFile, {});
    const masked = maskSecrets(config);
    expect(storageDriverOf(masked).params).toEqual({ ...storageDriverOf(config).params, password: '*****' });
    expect(JSON.stringify(masked)).not.toContain('5c8d15f732104053');
    // A copy: the loaded configuration still holds the password.
    expect(storageDriverOf(config).params).toMatchObject({ password: '5c8d15f732104053' });
  });

  it('masks every kind of secret, and keeps paths and identifiers visible', () => {
    const config = loadConfigFromString(everySecret, 'config.yml', {});
    const text = JSON.stringify(maskSecrets(config));
    for (const secret of secretValues) expect(text).not.toContain(secret);
    const masked = maskSecrets(config);
    expect(masked.http.secret).toBe('*****');
    expect(masked.redis.password).toBe('*****');
    expect(masked.proxy).toEqual({
      remoteurl: 'https://hub-user:*****@registry-1.docker.io',
      username: 'hub-user',
      password: '*****',
      ttl: 604_800_000,
    });
    expect(masked.notifications.endpoints[0]?.headers).toEqual({ Authorization: ['*****'], 'X-Request-Source': ['berth'] });
    expect(storageDriverOf(masked).params).toMatchObject({
      keyfile: '/etc/gcs/key.json',
      credentials: { type: '*****', private_key: '*****', client_email: '*****' },
    });
    expect(masked.http.tls).toEqual({ certificate: '/tls/cert.pem', key: '/tls/key.pem' });
  });

  it("masks a Swift application credential's secret and shows its id", () => {
    const yaml = 'version: 0.1\nstorage:\n  swift: {authurl: "http://keystone:5000/v3", applicationcredentialid: 2b0c1d, applicationcredentialsecret: app-secret, container: c}\n';
    const masked = maskSecrets(loadConfigFromString(yaml, 'config.yml', {}));
    expect(storageDriverOf(masked).params).toMatchObject({ applicationcredentialid: '2b0c1d', applicationcredentialsecret: '*****' });
  });
});

describe('printConfig', () => {
  it('prints the effective configuration with secrets masked, in a form that loads back unchanged', () => {
    const config = loadConfigFromString(everySecret, 'config.yml', {});
    const printed = printConfig(config);
    for (const secret of secretValues) expect(printed).not.toContain(secret);
    expect(printed).toContain('    interval: 10s\n');
    expect(loadConfigFromString(printed, 'printed.yml', {})).toEqual(maskSecrets(config));
  });

  it('prints the seed configuration in the reference layout', () => {
    const printed = printConfig(loadConfig(seedFile, {}));
    expect(printed).toMatch(/^version: '0\.1'\nlog:\n/);
    expect(printed).toContain("storage:\n  swift:\n    authurl: http://10.0.10.216:5000/v2.0\n    username: admin\n    password: '*****'\n");
    expect(printed).toContain('      age: 168h\n      interval: 24h\n');
  });
});

describe('redact', () => {
  it("scrubs the loaded configuration's secret values from any text", () => {
    loadConfig(seedFile, {});
    expect(redact('swift auth failed for admin with 5c8d15f732104053')).toBe('swift auth failed for admin with *****');
    expect(redact(new Error('rejected password 5c8d15f732104053'))).toBe('rejected password *****');
  });

  it('remembers the password inside a configured URL, also as the backend may quote it decoded', () => {
    loadConfigFromString('version: 0.1\nstorage:\n  swift:\n    authurl: http://admin:pa%24s-in-url@keystone/v2.0\n    username: admin\n    password: x\n    container: c\n', 'config.yml', {});
    expect(redact('user admin, key pa%24s-in-url refused')).toBe('user admin, key ***** refused');
    expect(redact('user admin, key pa$s-in-url refused')).toBe('user admin, key ***** refused');
  });

  it('hides URL passwords and Authorization credentials', () => {
    expect(redact('GET https://bob:hunter22@example.com/v2/ failed')).toBe('GET https://bob:*****@example.com/v2/ failed');
    expect(redact('sent Authorization: Bearer eyJhbGciOi.xyz')).toBe('sent Authorization: Bearer *****');
  });

  it('masks secret keys in objects and scrubs their text', () => {
    loadConfig(seedFile, {});
    expect(redact({ user: 'admin', password: 'anything', detail: { url: 'http://a:b1234@h/', note: 'key 5c8d15f732104053' } })).toEqual({
      user: 'admin',
      password: '*****',
      detail: { url: 'http://a:*****@h/', note: 'key *****' },
    });
    expect(redact(42)).toBe(42);
  });
});
