/**
 * Keys whose values are secrets wherever they appear (a driver's parameters, `redis`,
 * `proxy`, `http`, log hooks, middleware options), and why each one is:
 *
 * | key               | where                                  | why it is a secret                                      |
 * |-------------------|----------------------------------------|---------------------------------------------------------|
 * | `password`        | storage.swift, redis, proxy, log hooks' smtp | a login credential                                 |
 * | `secret`          | http.secret; azure `credentials.secret` | http.secret is the HMAC key that signs upload state: whoever has it can forge `_state` |
 * | `secretkey`       | storage.s3, storage.swift              | S3's secret access key signs requests; Swift's signs temp URLs |
 * | `applicationcredentialsecret` | storage.swift              | logs in as the Keystone application credential          |
 * | `sessiontoken`    | storage.s3                             | an STS session token is a bearer credential             |
 * | `accountkey`      | storage.azure                          | the storage account's shared key: full access           |
 * | `accesskeysecret` | storage.oss                            | Alibaba's signing secret                                |
 * | `credentials`     | storage.gcs, storage.azure             | an inline service account (with its private key) or client secret: every value hidden |
 * | `apikey`          | reporting.bugsnag                      | lets anyone post as this registry                       |
 * | `licensekey`      | reporting.newrelic                     | the account's license key                               |
 *
 * Not secrets, and shown: `accesskey` (S3) and `accesskeyid` (OSS) are key *identifiers*,
 * which the providers do not treat as secret and which an operator needs to see to know which
 * key is in use; `keyfile` (GCS), `http.tls.key`, `rootcertbundle`, `jwks` and `htpasswd.path`
 * are *paths*: the files' contents are the secrets and berth never prints them.
 */
export const secretKeys: ReadonlySet<string> = new Set([
  'password',
  'secret',
  'secretkey',
  'applicationcredentialsecret',
  'sessiontoken',
  'accountkey',
  'accesskeysecret',
  'credentials',
  'apikey',
  'licensekey',
]);

/**
 * Header names whose values carry credentials, in any `headers` mapping: notification
 * endpoints (`Authorization: [Bearer …]` to a webhook), health HTTP checks, `http.headers`.
 */
const secretHeader = /authorization|cookie|token|secret|password|api-?key|auth-key/i;

export const mask = '*****';

// Lower-casing a key costs ~80 ns, and every log line asks for each of its keys (an access line
// has fifteen): the answer is kept for the keys seen, up to a bound (a caller's keys may vary without end).
const secretByKey = new Map<string, boolean>();
const REMEMBERED_KEYS = 1024;

export function isSecretKey(key: string | number): boolean {
  if (typeof key !== 'string') return false;
  let secret = secretByKey.get(key);
  if (secret === undefined) {
    secret = secretKeys.has(key.toLowerCase());
    if (secretByKey.size < REMEMBERED_KEYS) secretByKey.set(key, secret);
  }
  return secret;
}

export function isSecretHeader(name: string): boolean {
  return secretHeader.test(name);
}

/** Is the value at `path` secret: a secret key itself, inside one, or a credential header? */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  return path.some((part, index) => {
    if (isSecretKey(part)) return true;
    const parent = path[index - 1];
    return typeof part === 'string' && parent === 'headers' && isSecretHeader(part);
  });
}
