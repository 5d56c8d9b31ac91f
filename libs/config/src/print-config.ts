import { formatGoDuration } from './duration';
import { maskSecrets } from './mask-secrets';
import type { BerthConfig } from './schema/config.schema';
import { dumpYaml, isMapping } from './yaml-document';

/**
 * Every key held as milliseconds, `*` standing for any list index: printed back in Go's
 * syntax, since a bare number in the file would be read as nanoseconds.
 */
const durationKeys = [
  'storage.maintenance.uploadpurging.age',
  'storage.maintenance.uploadpurging.interval',
  'http.draintimeout',
  'notifications.endpoints.*.timeout',
  'notifications.endpoints.*.backoff',
  'redis.dialtimeout',
  'redis.readtimeout',
  'redis.writetimeout',
  'redis.pool.idletimeout',
  'health.storagedriver.interval',
  'health.file.*.interval',
  'health.http.*.interval',
  'health.http.*.timeout',
  'health.tcp.*.interval',
  'health.tcp.*.timeout',
  'proxy.ttl',
  'berth.bus.requesttimeout',
  'berth.failedlogins.window',
  'berth.failedlogins.delay',
  'berth.log.slowstorage',
  'berth.gc.interval',
  'berth.gc.reviewdelay',
  'berth.tokenservice.expiration',
  'berth.tokenservice.refreshexpiration',
].map((key) => key.split('.'));

/**
 * The effective configuration as a `config.yml` (`berth config print`): defaults filled in,
 * environment overrides applied, secrets masked, in the reference's layout, so that it
 * loads again as it is.
 */
export function printConfig(config: BerthConfig): string {
  const { storage, ...rest } = maskSecrets(config);
  const { driver, ...storageSettings } = storage;
  const document: Record<string, unknown> = { ...rest, storage: { [driver.name]: driver.params, ...storageSettings } };
  for (const key of durationKeys) rewriteDurations(document, key);
  const ordered = { version: document.version, log: document.log, storage: document.storage, ...document };
  return dumpYaml(ordered);
}

function rewriteDurations(node: unknown, path: string[]): void {
  const [head, ...tail] = path;
  if (head === undefined) return;
  if (head === '*') {
    if (Array.isArray(node)) for (const entry of node) rewriteDurations(entry, tail);
    return;
  }
  if (!isMapping(node) || !(head in node)) return;
  if (tail.length > 0) return rewriteDurations(node[head], tail);
  const ms = node[head];
  if (typeof ms === 'number') node[head] = formatGoDuration(ms);
}
