import { accessControllerOf, AuthSetupError, NO_LOGIN_THROTTLE, tokenServiceOf } from '@berth/auth';
import { redisSettingsFrom } from '@berth/bus';
import { type BerthConfig, ConfigError, type ConfigProblem, storageDriverOf } from '@berth/config';
import { createStorageDriver, type DriverObserver, readServiceAccountKey, type StorageDriver, UnusableKeyfileError } from '@berth/storage-driver';
import type { TlsOptions } from 'node:tls';
import type { ServiceName } from './serve-service';
import { tlsSettingsOf } from './tls-settings';

/** What serve starts with: the storage driver, not yet connected, and the public listener's TLS (when on). */
export interface Servable {
  driver: StorageDriver;
  tls?: TlsOptions;
}

/**
 * Everything `berth serve [--service NAME]` refuses to start with, found before anything starts
 * and said in one `ConfigError` naming `source`, the file. `berth config check` asks the same
 * question, so it says ok only for a file that serve takes. Returns the storage driver to serve
 * on, not yet connected (reaching the backend is serve's first step), its calls told to `observers`,
 * and the TLS settings.
 */
export function servable(config: BerthConfig, source: string, service?: ServiceName, observers: readonly DriverObserver[] = []): Servable {
  const problems: ConfigProblem[] = [];
  const refuse = (key: string, message: string) => problems.push({ source, key, message });
  if (service === undefined || service === 'gateway') {
    // The gateway reads the auth files (htpasswd, rootcertbundle, jwks): read them now, so a
    // file that would stop serve is named by config check too, in the same words.
    for (const read of [accessControllerOf, tokenServiceOf]) {
      try {
        read(config, NO_LOGIN_THROTTLE);
      } catch (error) {
        if (!(error instanceof AuthSetupError)) throw error;
        refuse(error.key, error.message);
      }
    }
  }
  if (config.http.net === 'unix') refuse('http.net', 'unix sockets are not served by this version of berth yet; use tcp and a HOST:PORT http.addr');
  // Redis settings are read (and its TLS files checked) wherever Redis is used: services run apart, the redis cache.
  if (service !== undefined || config.storage.cache.blobdescriptor === 'redis') {
    try {
      redisSettingsFrom(config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => ({ ...problem, source })));
    }
  }
  if ((service === 'upload' || service === 'gateway') && !config.http.secret) {
    // Each upload instance would sign upload state with a secret of its own, and a chunk that
    // reaches another instance than the last one would fail. The gateway asks too: it is the
    // one process every cluster has, started from the same file as the upload instances.
    refuse(
      'http.secret',
      'missing: services run apart need one secret for upload state, or a push whose chunks reach two upload instances fails (BLOB_UPLOAD_INVALID); set http.secret (or REGISTRY_HTTP_SECRET) to the same random string for every instance',
    );
  }
  // Only the public listener serves TLS: where it runs, its files must be there and right.
  const tls = service === undefined || service === 'gateway' ? tlsSettingsOf(config, source) : { problems: [] };
  problems.push(...tls.problems);
  const { name, params } = storageDriverOf(config);
  // The gcs driver reads its key file when it loads, on its first call: read it now, so that a
  // key serve cannot use is named by config check too, in the driver's words.
  if (name === 'gcs' && params.keyfile !== undefined) {
    try {
      readServiceAccountKey(params.keyfile);
    } catch (error) {
      if (!(error instanceof UnusableKeyfileError)) throw error;
      refuse('storage.gcs.keyfile', error.reason);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { driver: createStorageDriver(name, params, observers), ...(tls.options ? { tls: tls.options } : {}) };
}
