import type { Readable } from 'node:stream';
import type { Logger } from '@nestjs/common';
import type { DriverObserver, FileInfo, FileWriter, StorageDriver } from '@berth/storage-driver';
import { inSpan, SpanKind, tracingOn } from './tracing';

/**
 * What a storage path is, for a log line or a span: its kind in the reference's layout and
 * the repository, never the rest (digests, upload ids and tags say nothing an operator needs
 * to find a slow backend, and keep lines short).
 */
export interface PathKind {
  kind: string;
  repository?: string;
}

const layout: [RegExp, string][] = [
  [/^\/docker\/registry\/v2\/blobs\/[^/]+\/[^/]+\/[^/]+\/data$/, 'blob data'],
  [/^\/docker\/registry\/v2\/blobs(\/|$)/, 'blob directory'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_layers\/.+\/link$/, 'layer link'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_manifests\/revisions\/.+\/link$/, 'manifest revision link'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_manifests\/tags\/[^/]+\/current\/link$/, 'tag link'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_manifests\/tags\/[^/]+\/index\/.+\/link$/, 'tag index link'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_manifests\/tags(\/|$)/, 'tags'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_uploads\/[^/]+\/data$/, 'upload data'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_uploads\/[^/]+\/startedat$/, 'upload start time'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_uploads\/[^/]+\/hashstates\//, 'upload hash state'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_uploads(\/|$)/, 'uploads'],
  [/^\/docker\/registry\/v2\/repositories\/(.+)\/_(?:layers|manifests)(\/|$)/, 'repository'],
  [/^\/docker\/registry\/v2\/repositories(\/|$)/, 'repositories'],
];

export function pathKind(path: string): PathKind {
  for (const [pattern, kind] of layout) {
    const match = pattern.exec(path);
    if (match) return match[1] !== undefined && match[1] !== '/' && match[1] !== '' ? { kind, repository: match[1] } : { kind };
  }
  return { kind: path === '/' ? 'root' : 'other' };
}

/**
 * The warning for a storage call slower than `slowMs` (`berth.log.slowstorage`), as a driver
 * observer: `slow storage operation` with the driver, the operation, the path's kind and
 * repository, and the duration; `undefined` when `slowMs` is 0 (none logged). A walk and an
 * orphan purge take as long as the storage is large, and are not logged.
 */
export function slowStorageLog(slowMs: number, logger: Pick<Logger, 'warn'>): DriverObserver | undefined {
  if (slowMs <= 0) return undefined;
  const slowSeconds = slowMs / 1000;
  return (driver, action, _outcome, seconds, path) => {
    if (seconds <= slowSeconds || action === 'Walk' || action === 'PurgeOrphans') return;
    logger.warn({ msg: 'slow storage operation', ...storageAttributes(driver, action.toLowerCase(), path), 'storage.duration': `${Math.round(seconds * 1000)}ms` });
  };
}

/** A span's or a line's fields for a storage call. */
function storageAttributes(driver: string, operation: string, path: string): Record<string, string> {
  const where = pathKind(path);
  const attributes: Record<string, string> = { 'storage.driver': driver, 'storage.operation': operation, 'storage.path.kind': where.kind };
  if (where.repository !== undefined) attributes['storage.repository'] = where.repository;
  return attributes;
}

/**
 * The process's storage driver with each call in a span (`storage <operation>`, with the
 * driver and the path's kind) when tracing is on; the driver itself when it is off. A reader
 * or writer's span ends when it is open; a writer's commit has one of its own.
 */
export function tracedDriver(driver: StorageDriver): StorageDriver {
  if (!tracingOn()) return driver;
  const traced = <T>(operation: string, path: string, work: () => Promise<T>): Promise<T> =>
    inSpan(`storage ${operation}`, SpanKind.CLIENT, storageAttributes(driver.name, operation, path), work);
  const wrapped: StorageDriver = {
    name: driver.name,
    getContent: (path) => traced('getcontent', path, () => driver.getContent(path)),
    putContent: (path, content) => traced('putcontent', path, () => driver.putContent(path, content)),
    reader: (path, offset) => traced<Readable>('reader', path, () => driver.reader(path, offset)),
    writer: async (path, writerOptions) => {
      const writer: FileWriter = await traced('writer', path, () => driver.writer(path, writerOptions));
      const commit = writer.commit.bind(writer);
      Object.defineProperty(writer, 'commit', { value: () => traced('commit', path, commit), configurable: true });
      return writer;
    },
    stat: (path) => traced<FileInfo>('stat', path, () => driver.stat(path)),
    list: (path) => traced('list', path, () => driver.list(path)),
    move: (source, dest) => traced('move', dest, () => driver.move(source, dest)),
    delete: (path) => traced('delete', path, () => driver.delete(path)),
    redirectUrl: (path, method) => traced('redirecturl', path, () => driver.redirectUrl(path, method)),
    walk: (path) => driver.walk(path),
  };
  if (driver.ready) wrapped.ready = () => driver.ready!();
  if (driver.purgeOrphans) wrapped.purgeOrphans = (olderThan, purgeOptions) => driver.purgeOrphans!(olderThan, purgeOptions);
  return wrapped;
}
