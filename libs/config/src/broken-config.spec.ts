import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { loadConfigFromString } from './load-config';

const filesystem = 'storage:\n  filesystem:\n    rootdirectory: /srv/registry\n';
const valid = `version: 0.1\n${filesystem}`;
const drivers = 'filesystem, inmemory, s3, swift, azure, gcs, oss';

/** Each broken file and the exact message it must produce: one line per problem. */
const broken: [title: string, yaml: string, message: string][] = [
  ['an unknown key', `${valid}http:\n  hedaers: {}\n`, 'config.yml: http.hedaers: unknown key'],
  ['an unknown section (the reference has no top-level tags)', `${valid}tags: {}\n`, 'config.yml: tags: unknown key'],
  ['a word for a boolean', `${valid}http: {relativeurls: maybe}\n`, 'config.yml: http.relativeurls: "maybe" is not a boolean (use true or false)'],
  ['a mapping for a value', `${valid}http: {addr: {port: 5000}}\n`, 'config.yml: http.addr: expected a value, got a mapping'],
  ['a value for a section', `${valid}health: yes\n`, 'config.yml: health: expected a mapping, got "yes"'],
  [
    'two storage drivers',
    `version: 0.1\n${filesystem}  s3: {region: us-east-1, bucket: b}\n`,
    'config.yml: storage: exactly one storage driver must be configured, found 2: filesystem, s3',
  ],
  ['no storage driver', 'version: 0.1\nstorage:\n  delete: {enabled: true}\n', `config.yml: storage: no storage driver configured: add one of ${drivers}`],
  ['no storage section', 'version: 0.1\n', `config.yml: storage: missing: configure one storage driver (${drivers})`],
  [
    'a bad duration',
    `${valid}health:\n  storagedriver:\n    enabled: true\n    interval: 10x\n`,
    'config.yml: health.storagedriver.interval: "10x" is not a duration (use 10s, 5m, 1h)',
  ],
  [
    'a duration the reference reads with time.ParseDuration, without its unit',
    `version: 0.1\n${filesystem}  maintenance: {uploadpurging: {age: 100}}\n`,
    'config.yml: storage.maintenance.uploadpurging.age: "100" is not a duration (use 10s, 5m, 1h)',
  ],
  ['a gc interval of 0', `${valid}berth: {gc: {enabled: true, interval: 0s}}\n`, 'config.yml: berth.gc.interval: "0s" must be longer than 0'],
  [
    'a gc review delay too short to protect a push',
    `${valid}berth: {gc: {enabled: true, reviewdelay: 500ms}}\n`,
    'config.yml: berth.gc.reviewdelay: must be at least 1s with gc enabled, got 500ms: a shorter delay collects blobs of pushes in progress',
  ],
  ['an unknown gc key', `${valid}berth: {gc: {delay: 1h}}\n`, 'config.yml: berth.gc.delay: unknown key'],
  ['another version', 'version: 0.2\nstorage: inmemory\nbogus: 1\n', 'config.yml: version: "0.2" is not supported: berth reads version 0.1 files'],
  ['no version', filesystem, 'config.yml: version: missing: this key is required (berth reads version 0.1 files: version: 0.1)'],
  [
    'a port without a colon for http.addr',
    `${valid}http: {addr: "5000"}\n`,
    'config.yml: http.addr: "5000" is not a listen address (use HOST:PORT or :PORT, e.g. :5000)',
  ],
  ['a port out of range', `${valid}http: {addr: ":70000"}\n`, 'config.yml: http.addr: ":70000" is not a listen address (use HOST:PORT or :PORT, e.g. :5000)'],
  [
    'a negative storage driver health threshold',
    `${valid}health: {storagedriver: {enabled: true, threshold: -1}}\n`,
    'config.yml: health.storagedriver.threshold: must not be negative, got -1',
  ],
  ['an unknown driver', 'version: 0.1\nstorage:\n  floppy: {}\n', `config.yml: storage.floppy: unknown storage driver (known: ${drivers})`],
  ['an unknown driver parameter', 'version: 0.1\nstorage:\n  filesystem: {rootdir: /srv}\n', 'config.yml: storage.filesystem.rootdir: unknown key'],
  ['a driver parameter below its floor', 'version: 0.1\nstorage:\n  filesystem: {maxthreads: 10}\n', 'config.yml: storage.filesystem.maxthreads: must be at least 25, got 10'],
  [
    'a swift driver without its container',
    'version: 0.1\nstorage:\n  swift: {authurl: "http://keystone:5000/v3", username: u, password: p}\n',
    'config.yml: storage.swift.container: missing: this key is required',
  ],
  [
    'a swift auth URL that is not one',
    'version: 0.1\nstorage:\n  swift: {authurl: keystone, username: u, password: p, container: c}\n',
    'config.yml: storage.swift.authurl: "keystone" is not a URL (use http://HOST/… or https://HOST/…)',
  ],
  [
    'a swift driver with neither a password nor an application credential',
    'version: 0.1\nstorage:\n  swift: {authurl: "http://keystone:5000/v3", username: u, container: c}\n',
    'config.yml: storage.swift.password: missing: this key is required (or give applicationcredentialid and applicationcredentialsecret)',
  ],
  [
    'a swift application credential without its secret, beside a password',
    'version: 0.1\nstorage:\n  swift: {authurl: "http://keystone:5000/v3", applicationcredentialid: a1, password: p, container: c}\n',
    [
      'config.yml: storage.swift.applicationcredentialsecret: missing: this key is required with an application credential',
      'config.yml: storage.swift.password: not used with an application credential, which Keystone scopes to its own project: remove it',
    ].join('\n'),
  ],
  [
    'a swift application credential by name without its user',
    'version: 0.1\nstorage:\n  swift: {authurl: "http://keystone:5000/v3", applicationcredentialname: berth, applicationcredentialsecret: s, tenant: t, container: c}\n',
    [
      "config.yml: storage.swift.username: missing: this key is required with applicationcredentialname: the name is the user's own (or give applicationcredentialid)",
      'config.yml: storage.swift.tenant: not used with an application credential, which Keystone scopes to its own project: remove it',
    ].join('\n'),
  ],
  ['a YAML syntax error', 'version: 0.1\nstorage:\n  filesystem: {rootdirectory: /srv\nhttp: {}\n', 'config.yml: not valid YAML: line 4, column 1: missed comma between flow collection entries'],
  ['tabs for indentation', 'version: 0.1\nstorage:\n\tinmemory:\n', 'config.yml: not valid YAML: line 3, column 1: tab characters must not be used in indentation'],
  ['an empty file', '', 'config.yml: the file is empty: a configuration starts with version: 0.1 and names a storage driver'],
  [
    'a header value that is not a list',
    `${valid}http:\n  headers:\n    X-Content-Type-Options: nosniff\n`,
    'config.yml: http.headers.X-Content-Type-Options: expected a list, got "nosniff" (write [nosniff])',
  ],
  ['a negative catalog.maxentries', `${valid}catalog: {maxentries: -1}\n`, 'config.yml: catalog.maxentries: must not be negative, got -1'],
  ['a count that is not a number', `${valid}catalog: {maxentries: lots}\n`, 'config.yml: catalog.maxentries: "lots" is not a whole number'],
  ['an unknown log level', `${valid}log: {level: verbose}\n`, 'config.yml: log.level: "verbose" is not one of: error, warn, info, debug'],
  ['a redis address without a port', `${valid}redis: {addr: redis.internal}\n`, 'config.yml: redis.addr: "redis.internal" is not HOST:PORT (e.g. localhost:6379)'],
  ['a redis port out of range', `${valid}redis: {addr: "[::1]:65536"}\n`, 'config.yml: redis.addr: "[::1]:65536" is not HOST:PORT (e.g. localhost:6379)'],
  [
    'two auth providers',
    `${valid}auth:\n  silly: {realm: r, service: s}\n  htpasswd: {realm: r, path: /p}\n`,
    'config.yml: auth: only one auth provider may be configured, found 2: htpasswd, silly',
  ],
  ['an auth provider missing a key', `${valid}auth:\n  htpasswd: {realm: r}\n`, 'config.yml: auth.htpasswd.path: missing: this key is required'],
  ['an unknown auth provider', `${valid}auth:\n  ldap: {}\n`, 'config.yml: auth.ldap: unknown auth provider (known: silly, token, htpasswd, none)'],
  [
    'the redis blob descriptor cache without redis',
    `version: 0.1\n${filesystem}  cache: {blobdescriptor: redis}\n`,
    'config.yml: storage.cache.blobdescriptor: the redis cache needs redis.addr to be set',
  ],
  [
    'a notification endpoint without a usable URL',
    `${valid}notifications:\n  endpoints:\n    - {name: hook, url: "ftp://example.com/"}\n`,
    'config.yml: notifications.endpoints[0].url: "ftp://example.com/" is not an http or https URL',
  ],
  ['a URL pattern that does not compile', `${valid}validation: {manifests: {urls: {allow: ["("]}}}\n`, 'config.yml: validation.manifests.urls.allow[0]: "(" is not a regular expression (Invalid regular expression: /(/: Unterminated group)'],
  [
    'several problems at once, each on its own line',
    `version: 0.1\nstorage: {inmemory: , s3: {}}\nhttp: {addr: x, secrte: s}\nhealth: {storagedriver: {interval: soon}}\n`,
    [
      'config.yml: storage: exactly one storage driver must be configured, found 2: inmemory, s3',
      'config.yml: http.addr: "x" is not a listen address (use HOST:PORT or :PORT, e.g. :5000)',
      'config.yml: http.secrte: unknown key',
      'config.yml: health.storagedriver.interval: "soon" is not a duration (use 10s, 5m, 1h)',
    ].join('\n'),
  ],
];

describe('a broken configuration', () => {
  it.each(broken)('is refused: %s', (_title, yaml, message) => {
    let thrown: unknown;
    try {
      loadConfigFromString(yaml, 'config.yml', {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toBe(message);
    expect((thrown as ConfigError).problems).toHaveLength(message.split('\n').length);
  });
});
