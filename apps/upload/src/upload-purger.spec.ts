import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathFor, RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseStartedAt, UploadPurger } from './upload-purger';
import type { UploadPurgingSettings } from './upload-settings';

const HOUR = 3_600_000;
const roots: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** A filesystem driver on a fresh directory: the purger walks real files. */
async function filesystem(): Promise<StorageDriver> {
  return (await filesystemAt()).driver;
}

async function filesystemAt(): Promise<{ driver: StorageDriver; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-purge-'));
  roots.push(root);
  return { driver: createStorageDriver('filesystem', { rootdirectory: root }), root };
}

/** Sets a host file's modification time `hours` back, as if last written then. */
async function age(hostPath: string, hours: number): Promise<void> {
  const then = new Date(Date.now() - hours * HOUR);
  await utimes(hostPath, then, then);
}

/** The purger's log lines of one run. */
function logLines(): string[] {
  const lines: string[] = [];
  vi.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void lines.push(String(message)));
  return lines;
}

function purger(driver: StorageDriver, settings: Partial<UploadPurgingSettings> = {}): UploadPurger {
  return new UploadPurger(new RegistryStorage(driver), { enabled: true, ageMs: 168 * HOUR, intervalMs: 24 * HOUR, dryRun: false, ...settings });
}

/** The files of one upload session, where the reference keeps them. */
function uploadPaths(repository: string, id: string): { directory: string; data: string; startedAt: string } {
  return {
    directory: pathFor({ kind: 'uploadDir', repository, id }),
    data: pathFor({ kind: 'uploadData', repository, id }),
    startedAt: pathFor({ kind: 'uploadStartedAt', repository, id }),
  };
}

/** An upload as `start` leaves it: `startedat` (here with any content, or none) and an empty `data`. */
async function upload(driver: StorageDriver, repository: string, startedAt: string | undefined, id = randomUUID()) {
  const paths = uploadPaths(repository, id);
  if (startedAt !== undefined) await driver.putContent(paths.startedAt, Buffer.from(startedAt));
  await driver.putContent(paths.data, Buffer.alloc(0));
  return { id, ...paths };
}

const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString().replace(/\.\d+Z$/, 'Z');

async function stillThere(...hostPaths: string[]): Promise<boolean[]> {
  return Promise.all(hostPaths.map((path) => stat(path).then(() => true, () => false)));
}

async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  return driver.stat(path).then(
    () => true,
    () => false,
  );
}

describe(UploadPurger.name, () => {
  it('removes uploads started longer ago than the age and keeps younger ones, in nested repositories too', async () => {
    const driver = await filesystem();
    const stale = await upload(driver, 'library/alpine', hoursAgo(200));
    const staleNested = await upload(driver, 'a/b/c', hoursAgo(169));
    const fresh = await upload(driver, 'library/alpine', hoursAgo(1));
    const report = await purger(driver).purge();
    expect(report).toMatchObject({ dryRun: false, removed: 2, kept: 1, undated: 0, failed: 0, stopped: false });
    expect(await exists(driver, stale.directory)).toBe(false);
    expect(await exists(driver, staleNested.directory)).toBe(false);
    expect(await exists(driver, fresh.data)).toBe(true);
    // The rest of the repository is not the purger's business.
    expect(await exists(driver, pathFor({ kind: 'uploadsDir', repository: 'library/alpine' }))).toBe(true);
  });

  it('takes the age from the configuration', async () => {
    const driver = await filesystem();
    const twoHours = await upload(driver, 'app', hoursAgo(2));
    expect((await purger(driver, { ageMs: 3 * HOUR }).purge()).removed).toBe(0);
    expect((await purger(driver, { ageMs: 1 * HOUR }).purge()).removed).toBe(1);
    expect(await exists(driver, twoHours.directory)).toBe(false);
  });

  it('with dryRun reports what it would remove and removes nothing', async () => {
    const driver = await filesystem();
    const stale = await upload(driver, 'app', hoursAgo(500));
    await upload(driver, 'app', hoursAgo(0));
    const report = await purger(driver, { dryRun: true }).purge();
    expect(report).toMatchObject({ dryRun: true, removed: 1, kept: 1 });
    expect(await exists(driver, stale.data)).toBe(true);
  });

  it('dates an upload without a readable startedat (a POST failed on a full disk) by its data file, and says so', async () => {
    const { driver, root } = await filesystemAt();
    const missing = await upload(driver, 'app', undefined);
    const garbage = await upload(driver, 'app', 'last tuesday');
    const notRfc3339 = await upload(driver, 'app', '2001-01-01 00:00:00');
    const young = await upload(driver, 'app', undefined);
    for (const old of [missing, garbage, notRfc3339]) await age(join(root, old.data), 200);
    const lines = logLines();
    const report = await purger(driver).purge();
    expect(report).toMatchObject({ removed: 3, kept: 1, undated: 4, failed: 0 });
    for (const old of [missing, garbage, notRfc3339]) expect(await exists(driver, old.directory)).toBe(false);
    expect(await exists(driver, young.data)).toBe(true);
    expect(lines.join('\n')).toMatch(/removed 3 uploads .*; kept 1; 4 of them without a readable startedat, dated by their data's modification time/);
  });

  it('removes the temporary files of writes killed mid-commit once older than the age, and says so', async () => {
    const { driver, root } = await filesystemAt();
    const manifest = pathFor({ kind: 'blobData', digest: `sha256:${'ab'.repeat(32)}` });
    await driver.putContent(manifest, Buffer.from('{}'));
    // What putContent leaves when the process dies between its write and its rename.
    const leftover = join(root, dirname(manifest), '~0123456789abcdef.tmp');
    const inRepository = join(root, pathFor({ kind: 'uploadsDir', repository: 'a/b' }), '~fedcba9876543210.tmp');
    const beingWritten = join(root, dirname(manifest), '~00000000000000ff.tmp');
    await mkdir(dirname(inRepository), { recursive: true });
    for (const file of [leftover, inRepository, beingWritten]) await writeFile(file, 'half a manifest');
    await age(leftover, 200);
    await age(inRepository, 169);
    const lines = logLines();

    expect((await purger(driver, { dryRun: true }).purge()).orphans).toBe(2);
    expect(await stillThere(leftover, inRepository)).toEqual([true, true]);
    expect((await purger(driver).purge()).orphans).toBe(2);
    expect(await stillThere(leftover, inRepository, beingWritten)).toEqual([false, false, true]);
    expect(await driver.getContent(manifest)).toEqual(Buffer.from('{}'));
    expect(lines.at(-1)).toMatch(/removed 2 orphaned backend objects \(temporary files or segments of interrupted writes\)/);
  });

  it('reads the reference’s startedat: fractional seconds and zone offsets', async () => {
    const driver = await filesystem();
    await upload(driver, 'app', '2015-03-04T05:06:07.123456789Z');
    await upload(driver, 'app', '2015-03-04T05:06:07+02:00');
    expect((await purger(driver).purge()).removed).toBe(2);
  });

  it('leaves alone what is not an upload: names other than UUIDs, and anything inside _layers or _manifests', async () => {
    const driver = await filesystem();
    const notUuid = uploadPaths('app', 'not-a-uuid');
    await driver.putContent(notUuid.startedAt, Buffer.from(hoursAgo(1000)));
    const inManifests = `${pathFor({ kind: 'manifestTagsDir', repository: 'app' })}/_uploads/${randomUUID()}/startedat`;
    await driver.putContent(inManifests, Buffer.from(hoursAgo(1000)));
    const report = await purger(driver).purge();
    expect(report).toMatchObject({ removed: 0, kept: 0 });
    expect(await exists(driver, notUuid.startedAt)).toBe(true);
    expect(await exists(driver, inManifests)).toBe(true);
  });

  it('takes an upload that disappears during the run (finished meanwhile) for no error', async () => {
    const disk = await filesystem();
    const vanishing = await upload(disk, 'app', hoursAgo(1000));
    const stale = await upload(disk, 'app', hoursAgo(1000));
    // The first upload finishes between the listing of _uploads and the purger's look at it.
    const racing: StorageDriver = Object.assign(Object.create(disk) as StorageDriver, {
      list: async (path: string) => {
        const children = await disk.list(path);
        if (path === pathFor({ kind: 'uploadsDir', repository: 'app' })) await disk.delete(vanishing.directory);
        return children;
      },
    });
    const report = await purger(racing).purge();
    expect(report).toMatchObject({ removed: 1, kept: 0, failed: 0 });
    expect(await exists(disk, stale.directory)).toBe(false);
  });

  it('an empty storage has nothing to purge', async () => {
    expect(await purger(await filesystem()).purge()).toMatchObject({ removed: 0, kept: 0, failed: 0 });
  });

  it('stops early when aborted, and then leaves the orphans for the next run', async () => {
    const disk = await filesystem();
    await upload(disk, 'app', hoursAgo(1000));
    const calls: unknown[] = [];
    const driver: StorageDriver = Object.assign(Object.create(disk) as StorageDriver, {
      purgeOrphans: async (...args: unknown[]) => (calls.push(args), []),
    });
    const abort = new AbortController();
    abort.abort();
    const report = await purger(driver).purge(abort.signal);
    expect(report).toMatchObject({ removed: 0, stopped: true });
    expect(calls).toEqual([]);
  });

  it('then asks the driver to purge orphaned objects older than the same limit, dry run passed on', async () => {
    const disk = await filesystem();
    const calls: [Date, { dryRun: boolean }][] = [];
    const driver: StorageDriver = Object.assign(Object.create(disk) as StorageDriver, {
      purgeOrphans: async (olderThan: Date, options: { dryRun: boolean }) => {
        calls.push([olderThan, options]);
        return ['segments/abc/1', 'segments/abc/2'];
      },
    });
    const report = await purger(driver, { dryRun: true, ageMs: 5 * HOUR }).purge();
    expect(report.orphans).toBe(2);
    expect(calls).toEqual([[report.olderThan, { dryRun: true }]]);
    expect(Math.abs(report.olderThan.getTime() - (Date.now() - 5 * HOUR))).toBeLessThan(60_000);
    const inmemory = createStorageDriver('inmemory', {});
    expect((await purger(inmemory).purge()).orphans).toBeUndefined();
  });
});

describe(parseStartedAt.name, () => {
  it.each([
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T03:04:05.5Z', '2024-01-02T03:04:05.500Z'],
    ['2024-01-02T03:04:05-01:30', '2024-01-02T04:34:05.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseStartedAt(text)?.toISOString()).toBe(iso);
  });

  it.each(['', '2024-01-02', '2024-01-02T03:04:05', '2024-01-02 03:04:05Z', '2023-02-29T00:00:00Z', '2024-01-02T24:00:00Z', '2024-13-01T00:00:00Z', ' 2024-01-02T03:04:05Z', '2024-01-02T03:04:05Z\n'])(
    'refuses %j, as Go’s time.Parse(time.RFC3339) does',
    (text) => {
      expect(parseStartedAt(text)).toBeUndefined();
    },
  );
});
