import { randomUUID } from 'node:crypto';
import { digestOf } from '@berth/oci';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import { closeQuietly, UploadStore } from './upload-store';
import { pathFor } from './paths';

describe('UploadStore', () => {
  let driver: StorageDriver;
  let uploads: UploadStore;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    uploads = new UploadStore(driver);
  });

  async function startUpload(repository: string, content = ''): Promise<string> {
    const id = randomUUID();
    await uploads.writeStartedAt(repository, id, '2024-01-01T00:00:00Z');
    await driver.putContent(uploads.dataPath(repository, id), Buffer.from(content));
    return id;
  }

  it('opens an upload by its two files, stat\'ed or for appending', async () => {
    const id = await startUpload('app', 'abc');
    expect(uploads.dataPath('app', id)).toBe(pathFor({ kind: 'uploadData', repository: 'app', id }));
    expect(await uploads.open('app', id, false)).toEqual({ startedAt: '2024-01-01T00:00:00Z', size: 3 });
    const opened = await uploads.open('app', id, true);
    expect(opened?.size).toBe(3);
    expect(opened?.writer?.size).toBe(3);
    await closeQuietly(opened!.writer!);
    expect(await uploads.startedAt('app', id)).toBe('2024-01-01T00:00:00Z');
  });

  it('knows an upload missing either file as gone, and removes one once', async () => {
    const id = await startUpload('app');
    await driver.delete(pathFor({ kind: 'uploadStartedAt', repository: 'app', id }));
    expect(await uploads.open('app', id, true)).toBeUndefined();
    expect(await uploads.startedAt('app', id)).toBeUndefined();
    expect(await uploads.modifiedAt('app', id)).toBeInstanceOf(Date);
    expect(await uploads.remove('app', id)).toBe(true);
    expect(await uploads.remove('app', id)).toBe(false);
    expect(await uploads.modifiedAt('app', id)).toBeUndefined();
    expect(await uploads.open('app', randomUUID(), false)).toBeUndefined();
  });

  it('moves the data into the blob store, keeping a blob already there', async () => {
    const first = await startUpload('app', 'same');
    const second = await startUpload('other', 'same');
    const digest = digestOf('same');
    await uploads.moveToBlobStore('app', first, digest);
    await uploads.moveToBlobStore('other', second, digest);
    expect((await driver.getContent(pathFor({ kind: 'blobData', digest }))).toString()).toBe('same');
    expect(await driver.stat(uploads.dataPath('other', second))).toMatchObject({ size: 4 });
  });

  it('walks every upload of every repository, nested ones included, and only uuids', async () => {
    const ids = [await startUpload('a'), await startUpload('a/b/c'), await startUpload('z')];
    await driver.putContent(`${pathFor({ kind: 'uploadsDir', repository: 'a' })}/not-an-upload/data`, Buffer.from(''));
    const found: { repository: string; id: string }[] = [];
    for await (const upload of uploads.all()) found.push(upload);
    expect(found).toEqual([
      { repository: 'a', id: ids[0] },
      { repository: 'a/b/c', id: ids[1] },
      { repository: 'z', id: ids[2] },
    ]);
    const stopped = new AbortController();
    stopped.abort();
    for await (const upload of uploads.all({ signal: stopped.signal })) found.push(upload);
    expect(found).toHaveLength(3);
  });
});
