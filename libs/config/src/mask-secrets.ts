import type { BerthConfig } from './schema/config.schema';
import { isSecretHeader, isSecretKey, mask } from './secret-keys';

/**
 * A deep copy of `config` with every secret replaced by `*****` (the keys and why are
 * listed in secret-keys.ts), and the password part of any URL with credentials
 * (`https://user:pass@host`) hidden too. For `berth config print` and anything else shown.
 */
export function maskSecrets(config: BerthConfig): BerthConfig {
  return maskValue(config, false) as BerthConfig;
}

function maskValue(value: unknown, secret: boolean, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return secret ? (value === '' ? value : mask) : hideUrlPasswords(value);
  if (typeof value === 'number' || typeof value === 'bigint') return secret ? mask : value;
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((entry) => maskValue(entry, secret, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'headers' && isPlainObject(inner)) {
      copy[key] = Object.fromEntries(
        Object.entries(inner).map(([name, values]) => [name, maskValue(values, secret || isSecretHeader(name), seen)]),
      );
    } else {
      copy[key] = maskValue(inner, secret || isSecretKey(key), seen);
    }
  }
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// scheme://user:password@  — the password part (group 2), up to the @ before the host.
const urlCredentials = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)([^\s/@]+)@/gi;
// An Authorization header's credentials, however it was printed.
const authorizationCredentials = /\b(Bearer|Basic|Negotiate|Digest)\s+[A-Za-z0-9._~+/=-]{4,}/g;

function decodedOrSelf(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hideUrlPasswords(text: string): string {
  return text.replace(urlCredentials, `$1${mask}@`);
}

/**
 * The secret values of the loaded configuration (shorter than 4 characters they are not
 * worth the false matches). `redact` scrubs them from any text: a backend's error message
 * that quotes a password, an auth URL echoed with its query.
 */
const minimumScrubbedLength = 4;
let knownSecrets: string[] = [];

/** Called by the loader: remembers `config`'s secret values for `redact`. */
export function rememberSecrets(config: BerthConfig): void {
  const found = new Set<string>();
  collectSecrets(config, false, found);
  knownSecrets = [...found].filter((secret) => secret.length >= minimumScrubbedLength).sort((a, b) => b.length - a.length);
}

function collectSecrets(value: unknown, secret: boolean, found: Set<string>): void {
  if ((typeof value === 'string' || typeof value === 'number') && secret) found.add(String(value));
  // A password inside a URL (`authurl: http://user:password@host`) is as secret, also decoded.
  if (typeof value === 'string') {
    for (const [, , password = ''] of value.matchAll(urlCredentials)) {
      found.add(password);
      found.add(decodedOrSelf(password));
    }
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const entry of value) collectSecrets(entry, secret, found);
    return;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'headers' && isPlainObject(inner)) {
      for (const [name, values] of Object.entries(inner)) collectSecrets(values, secret || isSecretHeader(name), found);
    } else {
      collectSecrets(inner, secret || isSecretKey(key), found);
    }
  }
}

// Cheap tests first: most lines (an access line's dozen fields) hold none of these.
const mayHoldCredentials = /Bearer|Basic|Negotiate|Digest/;

function scrub(text: string): string {
  let result = text;
  for (const secret of knownSecrets) if (result.includes(secret)) result = result.split(secret).join(mask);
  if (result.includes('://')) result = hideUrlPasswords(result);
  return mayHoldCredentials.test(result) ? result.replace(authorizationCredentials, `$1 ${mask}`) : result;
}

/**
 * What the logger writes instead of `value`: text with every known secret, URL password and
 * Authorization credential replaced by `*****`; objects copied with secret keys masked and
 * their text scrubbed the same way; an Error becomes its scrubbed message.
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) return scrub(value.message);
  if (typeof value !== 'object' || value === null) return value;
  return scrubStrings(maskValue(value, false));
}

function scrubStrings(value: unknown): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map(scrubStrings);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrubStrings(inner)]));
  return value;
}
