import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { invalidPaths } from '../../test/cases/paths.cases';
import { collectWalk } from '../../test/suite-context';
import { InvalidOffsetError, InvalidPathError, PathNotFoundError, StorageDriverError } from '../errors';
import { InMemoryDriver } from '../drivers/inmemory/inmemory.driver';
import type { FileInfo, FileWriter, StorageDriver } from '../storage-driver';
import { BaseDriver } from './base-driver';

/** A real in-memory driver that records every call reaching it, to prove what never does. */
class RecordingDriver implements StorageDriver {
  readonly name = 'recording';
  readonly calls: string[] = [];
  failWith: Error | undefined;
  private readonly inner = new InMemoryDriver();

  private record(method: string): void {
    this.calls.push(method);
    if (this.failWith) throw this.failWith;
  }
  async getContent(path: string): Promise<Buffer> {
    this.record('getContent');
    return this.inner.getContent(path);
  }
  async putContent(path: string, content: Buffer): Promise<void> {
    this.record('putContent');
    return this.inner.putContent(path, content);
  }
  async reader(path: string, offset?: number): Promise<Readable> {
    this.record('reader');
    return this.inner.reader(path, offset);
  }
  async writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    this.record('writer');
    return this.inner.writer(path, options);
  }
  async stat(path: string): Promise<FileInfo> {
    this.record('stat');
    return this.inner.stat(path);
  }
  async list(path: string): Promise<string[]> {
    this.record('list');
    return this.inner.list(path);
  }
  async move(source: string, dest: string): Promise<void> {
    this.record('move');
    return this.inner.move(source, dest);
  }
  async delete(path: string): Promise<void> {
    this.record('delete');
    return this.inner.delete(path);
  }
  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    this.record('redirectUrl');
    return this.inner.redirectUrl(path, method);
  }
  async *walk(path: string): AsyncGenerator<FileInfo> {
    this.record('walk');
    yield* this.inner.walk(path);
  }
}

const everyCall: Record<string, (driver: StorageDriver, path: string) => Promise<unknown>> = {
  getContent: (driver, path) => driver.getContent(path),
  putContent: (driver, path) => driver.putContent(path, Buffer.from('x')),
  reader: (driver, path) => driver.reader(path),
  writer: (driver, path) => driver.writer(path),
  stat: (driver, path) => driver.stat(path),
  list: (driver, path) => driver.list(path),
  'move from': (driver, path) => driver.move(path, '/valid'),
  'move to': (driver, path) => driver.move('/valid', path),
  delete: (driver, path) => driver.delete(path),
  redirectUrl: (driver, path) => driver.redirectUrl(path, 'GET'),
  walk: (driver, path) => collectWalk(driver.walk(path)),
};

describe('BaseDriver', () => {
  it.each(Object.keys(everyCall))('%s refuses invalid paths before the driver sees them', async (method) => {
    const recording = new RecordingDriver();
    const base = new BaseDriver(recording);
    for (const [rule, path] of Object.entries(invalidPaths('/prefix'))) {
      const error: unknown = await everyCall[method]!(base, path).catch((caught: unknown) => caught);
      expect(error, rule).toBeInstanceOf(InvalidPathError);
      expect((error as InvalidPathError).driverName).toBe('recording');
    }
    expect(recording.calls).toEqual([]);
  });

  it('passes the root to stat, list and walk only', async () => {
    const recording = new RecordingDriver();
    const base = new BaseDriver(recording);
    for (const method of ['getContent', 'putContent', 'reader', 'writer', 'move from', 'move to', 'delete', 'redirectUrl']) {
      await expect(everyCall[method]!(base, '/')).rejects.toBeInstanceOf(InvalidPathError);
    }
    expect(recording.calls).toEqual([]);
    await base.stat('/');
    await base.list('/');
    await collectWalk(base.walk('/'));
    expect(recording.calls).toEqual(['stat', 'list', 'walk']);
  });

  it('refuses negative and fractional offsets before the driver sees them', async () => {
    const recording = new RecordingDriver();
    const base = new BaseDriver(recording);
    for (const offset of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(base.reader('/file', offset)).rejects.toBeInstanceOf(InvalidOffsetError);
    }
    expect(recording.calls).toEqual([]);
  });

  it('delegates valid calls', async () => {
    const recording = new RecordingDriver();
    const base = new BaseDriver(recording);
    await base.putContent('/a/b', Buffer.from('content'));
    expect((await base.getContent('/a/b')).toString()).toBe('content');
    expect(recording.calls).toEqual(['putContent', 'getContent']);
  });

  it('stamps its name on driver errors that carry none', async () => {
    const recording = new RecordingDriver();
    recording.failWith = new PathNotFoundError('/missing');
    const error: unknown = await new BaseDriver(recording).getContent('/missing').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PathNotFoundError);
    expect((error as PathNotFoundError).driverName).toBe('recording');
  });

  it('wraps unknown errors as StorageDriverError, keeping the cause', async () => {
    const recording = new RecordingDriver();
    const cause = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    recording.failWith = cause;
    const base = new BaseDriver(recording);
    for (const call of [() => base.stat('/x'), () => base.move('/x', '/y'), () => collectWalk(base.walk('/x'))]) {
      const error: unknown = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageDriverError);
      expect((error as StorageDriverError).driverName).toBe('recording');
      expect((error as StorageDriverError).cause).toBe(cause);
      expect((error as StorageDriverError).message).toContain('connection reset');
    }
  });

  it('wraps failures of a writer commit and cancel', async () => {
    const base = new BaseDriver(new RecordingDriver());
    const writer = await base.writer('/upload');
    await writer.cancel();
    // Committing a cancelled writer fails; the failure still names the driver.
    const error: unknown = await writer.commit().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageDriverError);
    const committed = await base.writer('/other');
    await committed.commit();
    await expect(committed.cancel()).rejects.toBeInstanceOf(StorageDriverError);
    const thrown = await base.writer('/third');
    thrown.destroy(new TypeError('socket gone'));
    const wrapped: unknown = await thrown.commit().catch((caught: unknown) => caught);
    expect(wrapped).toBeInstanceOf(StorageDriverError);
    expect((wrapped as StorageDriverError).cause).toBeInstanceOf(TypeError);
  });
});

describe('BaseDriver observers (metrics, the slow-call log)', () => {
  it('tell every observer of every call, timed once, with the reference action names, its outcome (ok, not_found, error: an invalid path too) and its path', async () => {
    const seen: string[] = [];
    const timings: number[][] = [[], []];
    const driver = new BaseDriver(new InMemoryDriver(), [
      (name, action, outcome, seconds, path) => {
        timings[0]!.push(seconds);
        seen.push(`${name} ${action} ${outcome} ${path}`);
      },
      (_name, _action, _outcome, seconds) => timings[1]!.push(seconds),
    ]);
    await driver.putContent('/a/b', Buffer.from('x'));
    await expect(driver.getContent('/a/missing')).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.stat('relative')).rejects.toBeInstanceOf(InvalidPathError);
    const writer = await driver.writer('/a/c');
    writer.end(Buffer.from('y'));
    await writer.commit();
    await driver.move('/a/c', '/a/d');
    await collectWalk(driver.walk('/a'));
    expect(seen).toEqual([
      'inmemory PutContent ok /a/b',
      'inmemory GetContent not_found /a/missing',
      'inmemory Stat error relative',
      'inmemory Writer ok /a/c',
      'inmemory Commit ok /a/c',
      'inmemory Move ok /a/d',
      'inmemory Walk ok /a',
    ]);
    expect(timings[1]).toEqual(timings[0]);
    for (const seconds of timings[0]!) expect(seconds).toBeGreaterThanOrEqual(0);
  });
});
