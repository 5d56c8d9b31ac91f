import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../factory';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

const anHourAgo = () => new Date(Date.now() - 3_600_000);

describe('filesystem purgeOrphans', () => {
  it('removes only putContent temporaries older than the limit and names them as driver paths', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-temporaries-'));
    roots.push(root);
    const driver = createStorageDriver('filesystem', { rootdirectory: root });
    await driver.putContent('/docker/registry/v2/blobs/sha256/ab/abcd/data', Buffer.from('{}'));
    const directory = join(root, 'docker/registry/v2/blobs/sha256/ab/abcd');
    const files = {
      stale: join(directory, '~0123456789abcdef.tmp'),
      young: join(directory, '~fedcba9876543210.tmp'),
      notOurs: join(directory, '~notours.tmp'),
      data: join(directory, 'data'),
    };
    await mkdir(directory, { recursive: true });
    for (const file of [files.stale, files.young, files.notOurs]) await writeFile(file, 'x');
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    for (const file of [files.stale, files.notOurs, files.data]) await utimes(file, twoHoursAgo, twoHoursAgo);

    const stale = ['/docker/registry/v2/blobs/sha256/ab/abcd/~0123456789abcdef.tmp'];
    expect(await driver.purgeOrphans!(anHourAgo(), { dryRun: true })).toEqual(stale);
    expect(await driver.purgeOrphans!(anHourAgo(), { dryRun: false })).toEqual(stale);
    const present = await Promise.all(Object.values(files).map((file) => stat(file).then(() => true, () => false)));
    expect(present).toEqual([false, true, true, true]);
    expect(await driver.purgeOrphans!(anHourAgo(), { dryRun: false })).toEqual([]);
  });

  it('finds nothing in a storage not yet created', async () => {
    const driver = createStorageDriver('filesystem', { rootdirectory: join(tmpdir(), `berth-absent-${process.pid}-${Date.now()}`) });
    expect(await driver.purgeOrphans!(new Date(), { dryRun: false })).toEqual([]);
  });
});
