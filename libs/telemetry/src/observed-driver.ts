import type { Readable } from 'node:stream';
import type { Logger } from '@nestjs/common';
import type { FileInfo, FileWriter, StorageDriver } from '@berth/storage-driver';
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

export interface ObservedDriverOptions {
  /** `berth.log.slowstorage` in ms: an operation that takes longer is logged; 0 logs none. */
  slowMs: number;
  logger: Pick<Logger, 'warn'>;
}

/**
 * The process's storage driver as every service uses it: each operation in a span when
 * tracing is on (`storage <operation>`, with the driver and the path's kind), and one warning
 * per operation slower than `slowMs` (`slow storage operation`: driver, operation, path kind,
 * repository, duration). A reader or writer counts until it is open; a writer's commit on its
 * own (the upload's last bytes reaching the backend).
 */
export function observedDriver(driver: StorageDriver, options: ObservedDriverOptions): StorageDriver {
  if (options.slowMs <= 0 && !tracingOn()) return driver;
  // The path's kind is worked out only for a span or a slow operation's line: most calls need neither.
  const attributesOf = (operation: string, path: string): Record<string, string> => {
    const where = pathKind(path);
    const attributes: Record<string, string> = { 'storage.driver': driver.name, 'storage.operation': operation, 'storage.path.kind': where.kind };
    if (where.repository !== undefined) attributes['storage.repository'] = where.repository;
    return attributes;
  };
  const observe = <T>(operation: string, path: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const done = tracingOn() ? inSpan(`storage ${operation}`, SpanKind.CLIENT, attributesOf(operation, path), work) : work();
    if (options.slowMs <= 0) return done;
    return done.finally(() => {
      const ms = performance.now() - started;
      if (ms > options.slowMs) {
        options.logger.warn({ msg: 'slow storage operation', ...attributesOf(operation, path), 'storage.duration': `${Math.round(ms)}ms` });
      }
    });
  };
  const observed: StorageDriver = {
    name: driver.name,
    getContent: (path) => observe('getcontent', path, () => driver.getContent(path)),
    putContent: (path, content) => observe('putcontent', path, () => driver.putContent(path, content)),
    reader: (path, offset) => observe<Readable>('reader', path, () => driver.reader(path, offset)),
    writer: async (path, writerOptions) => {
      const writer: FileWriter = await observe('writer', path, () => driver.writer(path, writerOptions));
      const commit = writer.commit.bind(writer);
      Object.defineProperty(writer, 'commit', { value: () => observe('commit', path, commit), configurable: true });
      return writer;
    },
    stat: (path) => observe<FileInfo>('stat', path, () => driver.stat(path)),
    list: (path) => observe('list', path, () => driver.list(path)),
    move: (source, dest) => observe('move', dest, () => driver.move(source, dest)),
    delete: (path) => observe('delete', path, () => driver.delete(path)),
    redirectUrl: (path, method) => observe('redirecturl', path, () => driver.redirectUrl(path, method)),
    walk: (path) => driver.walk(path),
  };
  if (driver.ready) observed.ready = () => driver.ready!();
  if (driver.purgeOrphans) observed.purgeOrphans = (olderThan, purgeOptions) => driver.purgeOrphans!(olderThan, purgeOptions);
  return observed;
}
