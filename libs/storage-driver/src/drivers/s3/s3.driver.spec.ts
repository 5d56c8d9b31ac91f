import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { CreateMultipartUploadCommand, ListPartsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { emptyBucket, ensureBucket, listBucket, listMultipartUploads, type S3Backend, s3Backend, s3Client } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../test/suite-context';
import { createStorageDriver } from '../../factory';
import type { StorageDriver } from '../../storage-driver';

const MiB = 1024 * 1024;

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * What the shared suite cannot see, looked at behind the driver's back on the real S3 API of
 * the test Swift (s3api): object keys, the multipart uploads left open, redirects.
 */
describe('s3 driver: keys, multipart uploads and redirects on a real S3 API', () => {
  const bucket = 'berth-s3-driver';
  const root = `spec-${randomBytes(4).toString('hex')}`;
  let backend: S3Backend;
  let driver: StorageDriver;
  const params = () => ({ ...backend, bucket, rootdirectory: `/${root}/`, chunksize: 5 * MiB, multipartcopythresholdsize: 6 * MiB, multipartcopychunksize: 5 * MiB });

  beforeAll(async () => {
    backend = s3Backend();
    await ensureBucket(backend, bucket);
    driver = createStorageDriver('s3', params());
  });

  afterAll(async () => {
    if (backend) await emptyBucket(backend, bucket, `${root}/`);
  });

  async function write(path: string, content: Buffer, options: { append?: boolean; commit?: boolean } = {}) {
    const writer = await driver.writer(path, { append: options.append });
    writer.end(content);
    if (options.commit === false) await finished(writer);
    else await writer.commit();
    return writer;
  }

  it("stores the file of path /a/b as the key <rootdirectory>/a/b, the reference's s3Path", async () => {
    await driver.putContent('/docker/registry/v2/blobs/sha256/ab/abc/data', Buffer.from('x'));
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([`${root}/docker/registry/v2/blobs/sha256/ab/abc/data`]);
    await driver.delete('/docker');
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([]);
  });

  /** The part sizes of the one multipart upload open below the root. */
  async function openParts(): Promise<number[]> {
    const uploads = await listMultipartUploads(backend, bucket, `${root}/`);
    expect(uploads).toHaveLength(1);
    const client = s3Client(backend);
    try {
      const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: uploads[0]!.Key, UploadId: uploads[0]!.UploadId }));
      return (listed.Parts ?? []).map((part) => part.Size ?? 0);
    } finally {
      client.destroy();
    }
  }

  it('leaves a file ended without commit as an open upload that stat sizes, and continues it on another instance by adding parts', async () => {
    const path = '/repo/_uploads/resumed/data';
    const first = randomBytes(6 * MiB);
    const second = randomBytes(7 * MiB);
    const third = randomBytes(3 * MiB);
    // What berth's upload service does: an empty file at the start, then chunks.
    await write(path, Buffer.alloc(0), { commit: false });
    await write(path, first, { append: true, commit: false });
    expect(await openParts()).toEqual([6 * MiB]);
    // The object written at the start is gone: the open upload is the file.
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([]);
    expect(await driver.stat(path)).toMatchObject({ size: first.length, isDir: false });

    // Another replica: nothing shared but the bucket. Its parts follow the first: nothing is copied.
    const other = createStorageDriver('s3', params());
    const continued = await other.writer(path, { append: true });
    continued.end(second);
    await finished(continued);
    expect(await openParts()).toEqual([6 * MiB, 7 * MiB]);
    const resumed = await other.writer(path, { append: true });
    expect(resumed.size).toBe(first.length + second.length);
    resumed.end(third);
    await resumed.commit();
    expect((await readAll(await driver.reader(path))).equals(Buffer.concat([first, second, third]))).toBe(true);
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    await driver.delete('/repo');
  });

  it("continues an upload whose last part is short the reference's way: completed, copied as the next upload's first part", async () => {
    const path = '/repo/_uploads/short/data';
    const parts = [randomBytes(6 * MiB), randomBytes(MiB), randomBytes(2 * MiB)];
    await write(path, parts[0]!, { commit: false });
    await write(path, parts[1]!, { append: true, commit: false });
    expect(await openParts()).toEqual([6 * MiB, MiB]);
    await write(path, parts[2]!, { append: true, commit: false });
    expect(await openParts()).toEqual([7 * MiB, 2 * MiB]);
    expect(await driver.stat(path)).toMatchObject({ size: 9 * MiB });
    const writer = await driver.writer(path, { append: true });
    await writer.commit();
    expect((await readAll(await driver.reader(path))).equals(Buffer.concat(parts))).toBe(true);
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    await driver.delete('/repo');
  });

  it('reads an open upload back through a writer that continues it (readWritten), and the writer goes on', async () => {
    const path = '/repo/_uploads/read-back/data';
    const first = randomBytes(6 * MiB);
    const second = randomBytes(100_000);
    await write(path, first, { commit: false });
    const resumed = await driver.writer(path, { append: true });
    expect((await readAll(await resumed.readWritten!(MiB))).equals(first.subarray(MiB))).toBe(true);
    expect(await readAll(await resumed.readWritten!(first.length))).toEqual(Buffer.alloc(0));
    resumed.end(second);
    await resumed.commit();
    expect((await readAll(await driver.reader(path))).equals(Buffer.concat([first, second]))).toBe(true);
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    await driver.delete('/repo');
  });

  it('aborts the multipart upload on cancel, also of a writer that continued a file', async () => {
    const path = '/repo/_uploads/cancelled/data';
    await write(path, randomBytes(100_000), { commit: false });
    const writer = await driver.writer(path, { append: true });
    // A part is cut once a part and the 5 MiB minimum are buffered (chunksize 5 MiB here).
    writer.write(randomBytes(11 * MiB));
    await until(async () => (await listMultipartUploads(backend, bucket, `${root}/`)).length > 0);
    await writer.cancel();
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([]);
  });

  it('aborts the multipart uploads below a deleted directory (upload purging, distribution#1948)', async () => {
    await driver.putContent('/repo/_uploads/stale/startedat', Buffer.from('2020-01-01T00:00:00Z'));
    // What a writer killed mid-write leaves: an open upload with a part.
    const client = s3Client(backend);
    for (const name of ['stale', 'stale-sibling']) {
      const key = `${root}/repo/_uploads/${name}/data`;
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1000) }));
    }
    client.destroy();
    await driver.delete('/repo/_uploads/stale');
    expect((await listMultipartUploads(backend, bucket, `${root}/`)).map((upload) => upload.Key)).toEqual([`${root}/repo/_uploads/stale-sibling/data`]);
    // A directory holding nothing but an unfinished file is still there to delete.
    await driver.delete('/repo/_uploads/stale-sibling');
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([]);
  });

  it('moves a file above multipartcopythresholdsize by a multipart copy, whole', async () => {
    const content = randomBytes(13 * MiB);
    await write('/repo/_uploads/big/data', content);
    await driver.move('/repo/_uploads/big/data', '/blobs/big/data');
    expect((await readAll(await driver.reader('/blobs/big/data'))).equals(content)).toBe(true);
    expect(await listBucket(backend, bucket, `${root}/`)).toEqual([`${root}/blobs/big/data`]);
    expect(await listMultipartUploads(backend, bucket, `${root}/`)).toEqual([]);
    await driver.delete('/blobs');
  });

  it('answers redirects with pre-signed URLs that fetch the file, GET and HEAD', async () => {
    const content = randomBytes(1000);
    await driver.putContent('/blobs/signed/data', content);
    const get = await driver.redirectUrl('/blobs/signed/data', 'GET');
    expect(get).toMatch(/X-Amz-Signature=/);
    const fetched = await fetch(get!);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(content)).toBe(true);
    const head = await fetch((await driver.redirectUrl('/blobs/signed/data', 'HEAD'))!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    await driver.delete('/blobs');
  });

  it('signs redirects for redirectendpoint when one is given', async () => {
    const public_ = createStorageDriver('s3', { ...params(), redirectendpoint: 'https://cdn.example.com' });
    expect(await public_.redirectUrl('/blobs/x/data', 'GET')).toMatch(new RegExp(`^https://cdn\\.example\\.com/${bucket}/${root}/blobs/x/data\\?`));
  });
});
