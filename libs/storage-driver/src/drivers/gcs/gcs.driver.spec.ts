import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { GcsJsonApiServer } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../factory';
import type { StorageDriver } from '../../storage-driver';

const CHUNK = 256 * 1024;

/** What the suite cannot see: resumable sessions and private objects, as the server holds them. */
describe('gcs driver: resumable sessions, composed appends, signed redirects', () => {
  let server: GcsJsonApiServer;
  let driver: StorageDriver;

  function write(writer: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => writer.write(chunk, (error?: Error | null) => (error ? reject(error) : resolve())));
  }

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'berth-spec@berth-test.iam.gserviceaccount.com';
    server = await GcsJsonApiServer.start({ buckets: ['spec'], signer: { email, publicKey } });
    driver = createStorageDriver('gcs', {
      bucket: 'spec',
      chunksize: CHUNK,
      apiendpoint: server.url,
      credentials: { client_email: email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
  });

  afterAll(() => server?.stop());

  it('streams a large write through one resumable session and leaves only the file', async () => {
    const content = randomBytes(5 * CHUNK + 7);
    const writer = await driver.writer('/big');
    for (let at = 0; at < content.length; at += 64 * 1024) await write(writer, content.subarray(at, at + 64 * 1024));
    await writer.commit();
    expect((await driver.getContent('/big')).equals(content)).toBe(true);
    expect((await server.requests()).filter((request) => request.url.includes('uploadType=resumable&upload_id=')).length).toBeGreaterThanOrEqual(5);
    expect(await server.openSessions()).toEqual([]);
    expect(await server.objectNames('spec')).toEqual(['big']);
    await driver.delete('/big');
  });

  it('composes an append onto the file it continues, and leaves no part', async () => {
    const first = randomBytes(3 * CHUNK);
    const second = randomBytes(2 * CHUNK + 3);
    const writer = await driver.writer('/_uploads/a/data');
    writer.end(first);
    await new Promise((resolve) => writer.on('finish', resolve));
    const resumed = await driver.writer('/_uploads/a/data', { append: true });
    expect(resumed.size).toBe(first.length);
    resumed.end(second);
    await resumed.commit();
    expect((await driver.getContent('/_uploads/a/data')).equals(Buffer.concat([first, second]))).toBe(true);
    expect((await server.requests()).some((request) => request.url.includes('/compose'))).toBe(true);
    expect(await server.objectNames('spec')).toEqual(['_uploads/a/data']);
    expect(await server.openSessions()).toEqual([]);
    await driver.delete('/_uploads');
  });

  it('cancels the resumable session of a cancelled writer, leaving nothing', async () => {
    const writer = await driver.writer('/_uploads/b/data');
    await write(writer, randomBytes(3 * CHUNK));
    expect(await server.openSessions()).toHaveLength(1);
    await writer.cancel();
    expect(await server.openSessions()).toEqual([]);
    expect(await server.objectNames('spec')).toEqual([]);
  });

  it('cancels the session of a writer that died when its directory is deleted (upload purging)', async () => {
    await driver.putContent('/_uploads/c/startedat', Buffer.from('2026-01-01T00:00:00Z'));
    const writer = await driver.writer('/_uploads/c/data');
    await write(writer, randomBytes(3 * CHUNK));
    // The process dies here: nothing ends or cancels the writer; its marker names the session.
    expect(await server.openSessions()).toHaveLength(1);
    expect((await server.objectNames('spec')).filter((name) => name.endsWith('.session'))).toHaveLength(1);
    expect(await driver.list('/_uploads/c')).toEqual(['/_uploads/c/startedat']);
    await driver.delete('/_uploads/c');
    expect(await server.openSessions()).toEqual([]);
    expect(await server.objectNames('spec')).toEqual([]);
    writer.destroy();
  });

  it('purges the sessions of dead writers elsewhere, and no file', async () => {
    await driver.putContent('/kept', Buffer.from('kept'));
    const writer = await driver.writer('/blobs/dead/data');
    await write(writer, randomBytes(2 * CHUNK));
    expect(await driver.purgeOrphans!(new Date(Date.now() - 3_600_000), { dryRun: false })).toEqual([]);
    expect(await server.openSessions()).toHaveLength(1);
    const purged = await driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: false });
    expect(purged).toHaveLength(1);
    expect(purged[0]).toMatch(/^blobs\/dead\/~data\.[0-9a-f]+\.session$/);
    expect(await server.openSessions()).toEqual([]);
    expect(await server.objectNames('spec')).toEqual(['kept']);
    writer.destroy();
    await driver.delete('/kept');
  });

  it('redirects GET to a V4 signed URL that serves the bytes, and HEAD to nothing', async () => {
    const content = randomBytes(100_000);
    await driver.putContent('/blobs/signed', content);
    const url = (await driver.redirectUrl('/blobs/signed', 'GET'))!;
    expect(url).toContain('X-Goog-Signature=');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    // The server checks the signature: a URL for another object with this one's signature is refused.
    expect((await fetch(url.replace('/blobs/signed?', '/blobs/other?'))).status).toBe(403);
    expect(await driver.redirectUrl('/blobs/signed', 'HEAD')).toBeUndefined();
    await driver.delete('/blobs');
  });
});
