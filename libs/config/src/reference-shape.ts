/**
 * The reference's configuration types as its environment parser sees them
 * (Distribution configuration/configuration.go, walked by reflection in parser.go):
 * a struct matches the upper-cased *Go field name* (not the YAML key: notifications'
 * `events` is the field EventConfig, so its variable is REGISTRY_NOTIFICATIONS_EVENTCONFIG_…),
 * a map takes any key, a list takes an index, `any` is a driver's free-form parameters.
 */
export type ShapeNode =
  | { readonly kind: 'struct'; readonly fields: ReadonlyMap<string, { readonly key: string; readonly node: ShapeNode }> }
  /** `named`: a bare string names the single entry (`storage: inmemory`, REGISTRY_STORAGE=s3). */
  | { readonly kind: 'map'; readonly value: ShapeNode; readonly named?: boolean }
  | { readonly kind: 'list'; readonly element: ShapeNode }
  | { readonly kind: 'any' }
  | { readonly kind: 'value' };

type FieldSpec = ShapeNode | { readonly goName: string; readonly node: ShapeNode };

const value: ShapeNode = { kind: 'value' };
const any: ShapeNode = { kind: 'any' };
const values: ShapeNode = { kind: 'list', element: value };
const list = (element: ShapeNode): ShapeNode => ({ kind: 'list', element });
const map = (of: ShapeNode): ShapeNode => ({ kind: 'map', value: of });
/** A field whose Go name differs from its YAML key. */
const renamed = (goName: string, node: ShapeNode): FieldSpec => ({ goName, node });

function struct(spec: Record<string, FieldSpec>): ShapeNode {
  const fields = new Map<string, { key: string; node: ShapeNode }>();
  for (const [key, field] of Object.entries(spec)) {
    if ('goName' in field) fields.set(field.goName.toUpperCase(), { key, node: field.node });
    else fields.set(key.toUpperCase(), { key, node: field });
  }
  return { kind: 'struct', fields };
}

/** http.Header: header name → list of values. */
const headers = map(values);
const parameters = map(any);

export const referenceShape: ShapeNode = struct({
  version: value,
  log: struct({
    accesslog: struct({ disabled: value }),
    level: value,
    formatter: value,
    fields: map(any),
    hooks: list(
      struct({
        disabled: value,
        type: value,
        levels: values,
        options: renamed(
          'MailOptions',
          struct({ smtp: struct({ addr: value, username: value, password: value, insecure: value }), from: value, to: values }),
        ),
      }),
    ),
    reportcaller: value,
  }),
  loglevel: value,
  storage: { kind: 'map', value: parameters, named: true },
  auth: { kind: 'map', value: parameters, named: true },
  middleware: map(list(struct({ name: value, disabled: value, options: parameters }))),
  reporting: struct({
    bugsnag: struct({ apikey: value, releasestage: value, endpoint: value }),
    newrelic: struct({ licensekey: value, name: value, verbose: value }),
  }),
  http: struct({
    addr: value,
    net: value,
    host: value,
    prefix: value,
    secret: value,
    relativeurls: value,
    draintimeout: value,
    tls: struct({
      certificate: value,
      key: value,
      clientcas: values,
      minimumtls: value,
      ciphersuites: values,
      letsencrypt: struct({ cachefile: value, email: value, hosts: values, directoryurl: value }),
    }),
    headers,
    debug: struct({ addr: value, prometheus: struct({ enabled: value, path: value }) }),
    http2: struct({ disabled: value }),
  }),
  notifications: struct({
    events: renamed('EventConfig', struct({ includereferences: value })),
    endpoints: list(
      struct({
        name: value,
        disabled: value,
        url: value,
        headers,
        timeout: value,
        threshold: value,
        backoff: value,
        ignoredmediatypes: values,
        ignore: struct({ mediatypes: values, actions: values }),
      }),
    ),
  }),
  redis: struct({
    addr: value,
    password: value,
    db: value,
    tls: struct({ enabled: value }),
    dialtimeout: value,
    readtimeout: value,
    writetimeout: value,
    pool: struct({ maxidle: value, maxactive: value, idletimeout: value }),
  }),
  health: struct({
    file: renamed('FileCheckers', list(struct({ interval: value, file: value, threshold: value }))),
    http: renamed(
      'HTTPCheckers',
      list(struct({ timeout: value, statuscode: value, interval: value, uri: value, headers, threshold: value })),
    ),
    tcp: renamed('TCPCheckers', list(struct({ timeout: value, interval: value, addr: value, threshold: value }))),
    storagedriver: struct({ enabled: value, interval: value, threshold: value }),
  }),
  catalog: struct({ maxentries: value }),
  proxy: struct({ remoteurl: value, username: value, password: value, ttl: value }),
  compatibility: struct({ schema1: struct({ signingkeyfile: renamed('TrustKey', value), enabled: value }) }),
  validation: struct({
    enabled: value,
    disabled: value,
    manifests: struct({ urls: struct({ allow: values, deny: values }) }),
  }),
  policy: struct({ repository: struct({ classes: values }) }),
  // berth's own section follows the same rule: REGISTRY_BERTH_UPLOAD_ADDR sets berth.upload.addr.
  berth: struct({
    upload: struct({ addr: value }),
    bus: struct({ requesttimeout: value, keyprefix: value }),
    failedlogins: struct({ limit: value, window: value, delay: value }),
    gc: struct({ enabled: value, interval: value, reviewdelay: value, dryrun: value, deleteuntagged: value }),
  }),
});
