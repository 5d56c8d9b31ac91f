import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { OssApiServer } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../test/suite-context';
import { createStorageDriver } from '../../factory';
import type { StorageDriver } from '../../storage-driver';
import { ossEndpoint } from './oss.objects';

const MiB = 1024 * 1024;

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('oss driver: multipart uploads and signed URLs on the OSS API test server', () => {
  let server: OssApiServer;
  let driver: StorageDriver;
  let endpoint: string;

  beforeAll(async () => {
    server = await OssApiServer.start({ bucket: 'berth-oss', accessKeyId: 'key-id', accessKeySecret: 'key-secret' });
    endpoint = server.url;
    driver = createStorageDriver('oss', { accesskeyid: 'key-id', accesskeysecret: 'key-secret', region: 'oss-cn-hangzhou', bucket: 'berth-oss', endpoint, secure: false, chunksize: 5 * MiB });
  });

  afterAll(() => server?.stop());

  it('continues an open upload on another instance, and leaves none after commit, cancel or directory delete', async () => {
    const first = randomBytes(6 * MiB);
    const writer = await driver.writer('/repo/_uploads/a/data');
    writer.end(first);
    await finished(writer);
    // Left open for the next writer, which adds parts instead of copying what is there.
    expect(await server.openUploads()).toHaveLength(1);
    expect(await driver.stat('/repo/_uploads/a/data')).toMatchObject({ size: first.length, isDir: false });
    const other = createStorageDriver('oss', { accesskeyid: 'key-id', accesskeysecret: 'key-secret', region: 'oss-cn-hangzhou', bucket: 'berth-oss', endpoint, secure: false, chunksize: 5 * MiB });
    const resumed = await other.writer('/repo/_uploads/a/data', { append: true });
    expect(resumed.size).toBe(first.length);
    resumed.end(Buffer.from('tail'));
    await resumed.commit();
    expect((await readAll(await driver.reader('/repo/_uploads/a/data'))).equals(Buffer.concat([first, Buffer.from('tail')]))).toBe(true);
    expect(await server.openUploads()).toEqual([]);

    const cancelled = await driver.writer('/repo/_uploads/b/data');
    cancelled.end(randomBytes(1000));
    await finished(cancelled);
    const again = await driver.writer('/repo/_uploads/b/data', { append: true });
    // A part is cut once a part and the 5 MiB minimum are buffered (chunksize 5 MiB here).
    again.write(randomBytes(11 * MiB));
    await until(async () => (await server.openUploads()).length > 0);
    await again.cancel();
    expect(await server.openUploads()).toEqual([]);

    // A writer still writing when its directory is purged: its open upload goes with it.
    const purged = await driver.writer('/repo/_uploads/c/data');
    purged.write(randomBytes(11 * MiB));
    await until(async () => (await server.openUploads()).length > 0);
    await driver.delete('/repo/_uploads');
    expect(await server.openUploads()).toEqual([]);
    purged.destroy();
  });

  it('answers redirects with signed URLs that fetch the file', async () => {
    const content = randomBytes(3000);
    await driver.putContent('/blobs/signed/data', content);
    const url = await driver.redirectUrl('/blobs/signed/data', 'GET');
    expect(url).toMatch(/Signature=/);
    const fetched = await fetch(url!);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(content)).toBe(true);
    await driver.delete('/blobs');
  });

  it("picks the reference's endpoints: the region's public or internal host, the scheme from secure", () => {
    const base = { accesskeyid: 'i', accesskeysecret: 's', bucket: 'b', region: 'oss-cn-beijing', internal: false, encrypt: false, secure: true, chunksize: 5 * MiB, rootdirectory: '' };
    expect(ossEndpoint(base)).toBe('https://oss-cn-beijing.aliyuncs.com');
    expect(ossEndpoint({ ...base, internal: true, secure: false })).toBe('http://oss-cn-beijing-internal.aliyuncs.com');
    expect(ossEndpoint({ ...base, endpoint: 'oss.example.com' })).toBe('https://oss.example.com');
  });
});
