import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../errors';
import { createStorageDriver } from '../../factory';
import type { StorageDriver } from '../../storage-driver';

/** What the shared suite cannot see: the files on disk, and two drivers sharing one directory. */
describe('filesystem driver on disk', () => {
  let root: string;
  let driver: StorageDriver;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-filesystem-'));
    driver = createStorageDriver('filesystem', { rootdirectory: root });
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("writes Distribution's layout: the driver path below rootdirectory", async () => {
    const path = '/docker/registry/v2/repositories/library/alpine/_manifests/tags/latest/current/link';
    await driver.putContent(path, Buffer.from('sha256:abc'));
    expect(readFileSync(join(root, path), 'utf8')).toBe('sha256:abc');
  });

  it('reads small files whole at the sizes where its reads grow (16 KiB, then doubling)', async () => {
    for (const size of [0, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 48 * 1024, 100 * 1024]) {
      const bytes = Buffer.alloc(size, size % 251);
      writeFileSync(join(root, `sized-${size}`), bytes);
      expect((await driver.getContent(`/sized-${size}`)).equals(bytes), `${size} bytes`).toBe(true);
    }
  });

  it('continues in a second driver instance what the first ended without commit', async () => {
    const other = createStorageDriver('filesystem', { rootdirectory: root });
    const first = await driver.writer('/_uploads/u/data');
    first.end(Buffer.from('first half, '));
    await finished(first);
    const second = await other.writer('/_uploads/u/data', { append: true });
    expect(second.size).toBe(12);
    second.end(Buffer.from('second half'));
    await second.commit();
    expect(readFileSync(join(root, '_uploads/u/data'), 'utf8')).toBe('first half, second half');
  });

  it('leaves no temporary file beside a putContent target, and never lists private names', async () => {
    await driver.putContent('/dir/link', Buffer.from('x'));
    expect(readdirSync(join(root, 'dir'))).toEqual(['link']);
    writeFileSync(join(root, 'dir', '~crashed.tmp'), 'half');
    expect(await driver.list('/dir')).toEqual(['/dir/link']);
  });

  it('answers an empty storage, whose root directory does not exist yet', async () => {
    const missing = createStorageDriver('filesystem', { rootdirectory: join(root, 'not-yet') });
    expect(await missing.list('/')).toEqual([]);
    await expect(missing.stat('/')).rejects.toBeInstanceOf(PathNotFoundError);
    await missing.putContent('/first', Buffer.from('x'));
    expect(existsSync(join(root, 'not-yet', 'first'))).toBe(true);
  });

  it('keeps the host path out of its errors', async () => {
    const error: unknown = await driver.getContent('/missing').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PathNotFoundError);
    expect((error as Error).message).not.toContain(root);
  });
});
