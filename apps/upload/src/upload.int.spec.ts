import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Global, Module } from '@nestjs/common';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InProcessBus, InProcessClient, InProcessJobScheduler, InProcessServer, NestMessageClient } from '@berth/bus';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { JOB_SCHEDULER, type UploadMessages, UploadPattern } from '@berth/contracts';
import { type Digest, OciError } from '@berth/oci';
import { createStorageDriver, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { UploadModule } from './index';

const REPO = 'library/alpine';
const ROOT = '/docker/registry/v2';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const digestOf = (bytes: Buffer) => `sha256:${sha256(bytes)}` as Digest;
const body = (...chunks: Buffer[]) => Readable.from(chunks);

type Client = NestMessageClient<UploadMessages>;
const apps: INestMicroservice[] = [];

function config(deleteEnabled: boolean): BerthConfig {
  const uploadpurging = { enabled: false, age: 168 * 3_600_000, interval: 24 * 3_600_000, dryrun: false };
  const gc = { enabled: false, interval: 24 * 3_600_000, reviewdelay: 24 * 3_600_000, dryrun: false, deleteuntagged: false };
  return { http: { secret: 'test-secret' }, storage: { delete: { enabled: deleteEnabled }, maintenance: { uploadpurging } }, berth: { gc } } as unknown as BerthConfig;
}

/** An upload service on `driver`, reached through the in-process bus as the gateway reaches it. */
async function uploadService(driver: StorageDriver, deleteEnabled = false): Promise<Client> {
  @Global()
  @Module({
    providers: [
      { provide: STORAGE_DRIVER, useValue: driver },
      { provide: BERTH_CONFIG, useValue: config(deleteEnabled) },
      { provide: JOB_SCHEDULER, useValue: new InProcessJobScheduler() },
    ],
    exports: [STORAGE_DRIVER, BERTH_CONFIG, JOB_SCHEDULER],
  })
  class CompositionRoot {}
  const moduleRef = await Test.createTestingModule({ imports: [CompositionRoot, UploadModule] }).compile();
  const bus = new InProcessBus();
  const app = moduleRef.createNestMicroservice({ strategy: new InProcessServer(bus) });
  await app.listen();
  apps.push(app);
  return new NestMessageClient<UploadMessages>(new InProcessClient(bus));
}

async function failure(call: Promise<unknown>): Promise<OciError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof OciError)) throw new Error(`expected an OciError, got ${String(error)}`);
  return error;
}

async function startSession(client: Client, repository = REPO) {
  const started = await client.send(UploadPattern.Start, { repository });
  if (started.kind !== 'session') throw new Error('expected a session');
  return started;
}

async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  return driver.stat(path).then(
    () => true,
    () => false,
  );
}

const blobPath = (hex: string) => `${ROOT}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
const linkPath = (repo: string, algorithm: string, hex: string) => `${ROOT}/repositories/${repo}/_layers/${algorithm}/${hex}/link`;
const uploadDir = (repo: string, id: string) => `${ROOT}/repositories/${repo}/_uploads/${id}`;

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('upload service on the inmemory driver', () => {
  it('takes a monolithic upload: start, then finish with the whole body', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const blob = Buffer.from('a monolithic layer');
    const session = await startSession(client);
    expect(session.offset).toBe(0);
    expect((await driver.getContent(`${uploadDir(REPO, session.id)}/startedat`)).toString()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const done = await client.send(UploadPattern.Finish, {
      repository: REPO, id: session.id, state: session.state, digest: digestOf(blob), length: blob.length, body: body(blob),
    });
    expect(done).toEqual({ digest: digestOf(blob), size: blob.length });
    expect(await driver.getContent(blobPath(sha256(blob)))).toEqual(blob);
    expect((await driver.getContent(linkPath(REPO, 'sha256', sha256(blob)))).toString()).toBe(digestOf(blob));
    expect(await exists(driver, uploadDir(REPO, session.id))).toBe(false);
  });

  it('takes a chunked upload in three ranged chunks and reports its status', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const parts = [Buffer.from('first-'), Buffer.from('second-'), Buffer.from('third')];
    const blob = Buffer.concat(parts);
    let progress = await startSession(client);
    let offset = 0;
    for (const part of parts.slice(0, 2)) {
      progress = { kind: 'session', ...(await client.send(UploadPattern.Append, {
        repository: REPO, id: progress.id, state: progress.state,
        range: { start: offset, end: offset + part.length - 1 }, length: part.length, body: body(part),
      })) };
      offset += part.length;
      expect(progress.offset).toBe(offset);
    }
    const status = await client.send(UploadPattern.Status, { repository: REPO, id: progress.id, state: progress.state });
    expect(status.offset).toBe(13);
    const last = parts[2] as Buffer;
    const done = await client.send(UploadPattern.Finish, {
      repository: REPO, id: progress.id, state: status.state, digest: digestOf(blob),
      range: { start: 13, end: 13 + last.length - 1 }, length: last.length, body: body(last),
    });
    expect(done.size).toBe(blob.length);
    expect(await driver.getContent(blobPath(sha256(blob)))).toEqual(blob);
  });

  it('answers an out-of-order chunk with RANGE_INVALID (416) and keeps the session', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const session = await startSession(client);
    const first = await client.send(UploadPattern.Append, { repository: REPO, id: session.id, state: session.state, range: { start: 0, end: 2 }, length: 3, body: body(Buffer.from('abc')) });
    const error = await failure(client.send(UploadPattern.Append, { repository: REPO, id: session.id, state: first.state, range: { start: 10, end: 12 }, length: 3, body: body(Buffer.from('xyz')) }));
    expect([error.code, error.status]).toEqual(['RANGE_INVALID', 416]);
    expect((await client.send(UploadPattern.Status, { repository: REPO, id: session.id, state: first.state })).offset).toBe(3);
  });

  it('refuses a wrong digest with DIGEST_INVALID and leaves no blob, link or upload', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const blob = Buffer.from('the real bytes');
    const claimed = Buffer.from('other bytes');
    const session = await startSession(client);
    const error = await failure(client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: session.state, digest: digestOf(claimed), body: body(blob) }));
    expect(error.code).toBe('DIGEST_INVALID');
    for (const bytes of [blob, claimed]) {
      expect(await exists(driver, blobPath(sha256(bytes)))).toBe(false);
      expect(await exists(driver, linkPath(REPO, 'sha256', sha256(bytes)))).toBe(false);
    }
    expect(await exists(driver, uploadDir(REPO, session.id))).toBe(false);
    const gone = await failure(client.send(UploadPattern.Status, { repository: REPO, id: session.id, state: session.state }));
    expect(gone.code).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses tampered, foreign and other-repository states with BLOB_UPLOAD_INVALID', async () => {
    const client = await uploadService(createStorageDriver('inmemory', {}));
    const session = await startSession(client);
    const other = await startSession(client);
    const tampered = Buffer.from(session.state, 'base64url');
    tampered.writeUInt8(tampered.readUInt8(40) ^ 1, 40);
    const cases = [
      { repository: REPO, id: session.id, state: tampered.toString('base64url') },
      { repository: REPO, id: session.id, state: other.state },
      { repository: 'library/busybox', id: session.id, state: session.state },
    ];
    for (const request of cases) {
      expect((await failure(client.send(UploadPattern.Status, request))).code).toBe('BLOB_UPLOAD_INVALID');
    }
  });

  it('cancels a session; a cancelled or unknown one is BLOB_UPLOAD_UNKNOWN', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const session = await startSession(client);
    await client.send(UploadPattern.Append, { repository: REPO, id: session.id, state: session.state, body: body(Buffer.from('some')) });
    expect(await client.send(UploadPattern.Cancel, { repository: REPO, id: session.id, state: session.state })).toEqual({});
    expect(await exists(driver, uploadDir(REPO, session.id))).toBe(false);
    const again = await failure(client.send(UploadPattern.Cancel, { repository: REPO, id: session.id, state: session.state }));
    expect(again.code).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts from a repository, without one, and starts a session when it cannot', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const blob = Buffer.from('shared layer');
    const session = await startSession(client, 'source/repo');
    await client.send(UploadPattern.Finish, { repository: 'source/repo', id: session.id, state: session.state, digest: digestOf(blob), body: body(blob) });

    const withFrom = await client.send(UploadPattern.Start, { repository: 'target/one', mount: { digest: digestOf(blob), from: 'source/repo' } });
    expect(withFrom).toEqual({ kind: 'mounted', digest: digestOf(blob) });
    expect((await driver.getContent(linkPath('target/one', 'sha256', sha256(blob)))).toString()).toBe(digestOf(blob));

    const withoutFrom = await client.send(UploadPattern.Start, { repository: 'target/two', mount: { digest: digestOf(blob) } });
    expect(withoutFrom.kind).toBe('mounted');
    expect(await exists(driver, linkPath('target/two', 'sha256', sha256(blob)))).toBe(true);

    // Linked nowhere in `from`: a mount must not leak a blob the client could not pull there.
    const notLinked = await client.send(UploadPattern.Start, { repository: 'target/three', mount: { digest: digestOf(blob), from: 'empty/repo' } });
    expect(notLinked.kind).toBe('session');
    expect(await exists(driver, linkPath('target/three', 'sha256', sha256(blob)))).toBe(false);
    const missing = await client.send(UploadPattern.Start, { repository: 'target/three', mount: { digest: digestOf(Buffer.from('nope')) } });
    expect(missing.kind).toBe('session');
  });

  it('finishes the same blob from two sessions at once', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const blob = Buffer.alloc(256 * 1024, 7);
    const [one, two] = [await startSession(client), await startSession(client)];
    const results = await Promise.all(
      [one, two].map((session) => client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: session.state, digest: digestOf(blob), body: body(blob.subarray(0, 1000), blob.subarray(1000)) })),
    );
    expect(results).toEqual([{ digest: digestOf(blob), size: blob.length }, { digest: digestOf(blob), size: blob.length }]);
    expect(sha256(await driver.getContent(blobPath(sha256(blob))))).toBe(sha256(blob));
    expect(await exists(driver, `${ROOT}/repositories/${REPO}/_uploads/${one.id}`)).toBe(false);
    expect(await exists(driver, `${ROOT}/repositories/${REPO}/_uploads/${two.id}`)).toBe(false);
  });

  it('deletes a blob link only when storage.delete.enabled', async () => {
    const driver = createStorageDriver('inmemory', {});
    const blob = Buffer.from('to delete');
    const enabled = await uploadService(driver, true);
    const disabled = await uploadService(driver, false);
    const session = await startSession(enabled);
    await enabled.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: session.state, digest: digestOf(blob), body: body(blob) });

    expect((await failure(disabled.send(UploadPattern.DeleteBlob, { repository: REPO, digest: digestOf(blob) }))).code).toBe('UNSUPPORTED');
    expect(await enabled.send(UploadPattern.DeleteBlob, { repository: REPO, digest: digestOf(blob) })).toEqual({});
    expect(await exists(driver, linkPath(REPO, 'sha256', sha256(blob)))).toBe(false);
    // The bytes stay for garbage collection.
    expect(await exists(driver, blobPath(sha256(blob)))).toBe(true);
    expect((await failure(enabled.send(UploadPattern.DeleteBlob, { repository: REPO, digest: digestOf(blob) }))).code).toBe('BLOB_UNKNOWN');
  });

  it('verifies a sha512 digest, stores the blob under its sha256 and links both', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const blob = Buffer.from('hashed twice');
    const sha512 = createHash('sha512').update(blob).digest('hex');
    const session = await startSession(client);
    const done = await client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: session.state, digest: `sha512:${sha512}` as Digest, body: body(blob) });
    expect(done).toEqual({ digest: `sha512:${sha512}`, size: blob.length });
    expect(await driver.getContent(blobPath(sha256(blob)))).toEqual(blob);
    expect((await driver.getContent(linkPath(REPO, 'sha512', sha512))).toString()).toBe(digestOf(blob));
    expect((await driver.getContent(linkPath(REPO, 'sha256', sha256(blob)))).toString()).toBe(digestOf(blob));
    const wrong = await startSession(client);
    const error = await failure(client.send(UploadPattern.Finish, { repository: REPO, id: wrong.id, state: wrong.state, digest: `sha512:${'0'.repeat(128)}` as Digest, body: body(blob) }));
    expect(error.code).toBe('DIGEST_INVALID');
  });

  it('takes a 0-byte blob', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const empty = Buffer.alloc(0);
    const session = await startSession(client);
    expect(await client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: session.state, digest: digestOf(empty) })).toEqual({ digest: digestOf(empty), size: 0 });
    expect((await driver.stat(blobPath(sha256(empty)))).size).toBe(0);
  });

  it('keeps what arrived of a chunk whose body breaks, and continues from the status offset', async () => {
    const driver = createStorageDriver('inmemory', {});
    const client = await uploadService(driver);
    const session = await startSession(client);
    let sent = false;
    const broken = new Readable({
      read() {
        if (sent) return;
        sent = true;
        this.push(Buffer.from('0123'));
        setImmediate(() => this.destroy(new Error('aborted')));
      },
    });
    const error = await failure(client.send(UploadPattern.Append, { repository: REPO, id: session.id, state: session.state, range: { start: 0, end: 9 }, length: 10, body: broken }));
    expect(error.code).toBe('UNKNOWN');
    const status = await client.send(UploadPattern.Status, { repository: REPO, id: session.id, state: session.state });
    expect(status.offset).toBe(4);
    const blob = Buffer.from('0123456789');
    const done = await client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: status.state, digest: digestOf(blob), range: { start: 4, end: 9 }, length: 6, body: body(blob.subarray(4)) });
    expect(done.size).toBe(10);
    expect(await driver.getContent(blobPath(sha256(blob)))).toEqual(blob);
  });

  it('finishes correctly on another instance that never saw the session (no running hash)', async () => {
    const driver = createStorageDriver('inmemory', {});
    const first = await uploadService(driver);
    const second = await uploadService(driver);
    const blob = Buffer.from('begun on one instance, finished on another');
    const session = await startSession(first);
    const progress = await first.send(UploadPattern.Append, { repository: REPO, id: session.id, state: session.state, body: body(blob.subarray(0, 20)) });
    const done = await second.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: progress.state, digest: digestOf(blob), range: { start: 20, end: blob.length - 1 }, body: body(blob.subarray(20)) });
    expect(done.size).toBe(blob.length);
    expect(await driver.getContent(blobPath(sha256(blob)))).toEqual(blob);
  });
});

describe('upload service on the filesystem driver', () => {
  it('writes the reference layout on disk: uploads while in progress, then blob and link only', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-upload-'));
    try {
      const driver = createStorageDriver('filesystem', { rootdirectory: root });
      const client = await uploadService(driver);
      const blob = Buffer.alloc(3 * 1024 * 1024 + 5, 'x');
      const session = await startSession(client);
      const upload = join(root, 'docker/registry/v2/repositories/library/alpine/_uploads', session.id);
      expect((await readdir(upload)).sort()).toEqual(['data', 'startedat']);
      const progress = await client.send(UploadPattern.Append, { repository: REPO, id: session.id, state: session.state, range: { start: 0, end: 1023 }, length: 1024, body: body(blob.subarray(0, 1024)) });
      expect((await readFile(join(upload, 'data'))).length).toBe(1024);
      await client.send(UploadPattern.Finish, { repository: REPO, id: session.id, state: progress.state, digest: digestOf(blob), body: body(blob.subarray(1024)) });
      const hex = sha256(blob);
      // Compared by digest: a deep equality of megabytes takes vitest seconds.
      expect(sha256(await readFile(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')))).toBe(hex);
      expect(await readFile(join(root, 'docker/registry/v2/repositories/library/alpine/_layers/sha256', hex, 'link'), 'utf8')).toBe(`sha256:${hex}`);
      expect(await readdir(join(root, 'docker/registry/v2/repositories/library/alpine/_uploads'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
