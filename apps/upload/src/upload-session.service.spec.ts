import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { InProcessCollectionFence } from '@berth/bus';
import { ReferenceGuard } from '@berth/garbage-collection';
import { type Digest, OciError } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { UploadSessionService } from './upload-session.service';

const REPO = 'team/app';
const settings = { secret: 'k', deleteEnabled: false };

async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => (error instanceof OciError ? error.code : String(error)),
  );
}

describe('UploadSessionService', () => {
  it('starts a session with startedat and an empty data file, in the reference layout', async () => {
    const driver = createStorageDriver('inmemory', {});
    const started = await new UploadSessionService(new RegistryStorage(driver), settings, new ReferenceGuard(undefined, driver)).start({ repository: REPO });
    if (started.kind !== 'session') throw new Error('expected a session');
    expect(started.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const dir = `/docker/registry/v2/repositories/team/app/_uploads/${started.id}`;
    expect(await driver.list(dir)).toEqual([`${dir}/data`, `${dir}/startedat`]);
    expect((await driver.stat(`${dir}/data`)).size).toBe(0);
  });

  it("takes the offset from storage, so a token left behind by a broken chunk still serves a status", async () => {
    const driver = createStorageDriver('inmemory', {});
    const service = new UploadSessionService(new RegistryStorage(driver), settings, new ReferenceGuard(undefined, driver));
    const started = await service.start({ repository: REPO });
    if (started.kind !== 'session') throw new Error('expected a session');
    await service.append({ repository: REPO, id: started.id, state: started.state, body: Readable.from([Buffer.from('abc')]) });
    // `started.state` says offset 0; the data holds 3 bytes.
    expect((await service.status({ repository: REPO, id: started.id, state: started.state })).offset).toBe(3);
    expect(await codeOf(service.append({ repository: REPO, id: started.id, state: started.state, range: { start: 0, end: 0 }, body: Readable.from([Buffer.from('x')]) }))).toBe('RANGE_INVALID');
  });

  it('accepts a session from another instance that shares the secret, and refuses it without', async () => {
    const driver = createStorageDriver('inmemory', {});
    const started = await new UploadSessionService(new RegistryStorage(driver), settings, new ReferenceGuard(undefined, driver)).start({ repository: REPO });
    if (started.kind !== 'session') throw new Error('expected a session');
    const request = { repository: REPO, id: started.id, state: started.state };
    expect((await new UploadSessionService(new RegistryStorage(driver), settings, new ReferenceGuard(undefined, driver)).status(request)).offset).toBe(0);
    expect(await codeOf(new UploadSessionService(new RegistryStorage(driver), { secret: undefined, deleteEnabled: false }, new ReferenceGuard(undefined, driver)).status(request))).toBe('BLOB_UPLOAD_INVALID');
  });

  it('answers a malformed digest at finish with DIGEST_INVALID and keeps the upload', async () => {
    const driver = createStorageDriver('inmemory', {});
    const service = new UploadSessionService(new RegistryStorage(driver), settings, new ReferenceGuard(undefined, driver));
    const started = await service.start({ repository: REPO });
    if (started.kind !== 'session') throw new Error('expected a session');
    const request = { repository: REPO, id: started.id, state: started.state };
    expect(await codeOf(service.finish({ ...request, digest: 'md5:abc' as Digest }))).toBe('DIGEST_INVALID');
    expect((await service.status(request)).offset).toBe(0);
  });

  it('with online collection, refuses (503) a commit or a mount of a blob a run condemned, keeping the session; goes through after the run', async () => {
    const driver = createStorageDriver('inmemory', {});
    const fence = new InProcessCollectionFence();
    const storage = new RegistryStorage(driver);
    const service = new UploadSessionService(storage, settings, new ReferenceGuard(fence, driver));
    const bytes = Buffer.from('a layer');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    await storage.blobs.putIfAbsent(digest, bytes);
    const lease = await fence.acquire('run', 30_000, 3_600_000);
    if (!lease.acquired) throw new Error('no lease');
    await fence.begin('run');
    expect(await fence.condemn('run', [digest], lease.now + 1)).toEqual([digest]);

    const started = await service.start({ repository: REPO });
    if (started.kind !== 'session') throw new Error('expected a session');
    const request = { repository: REPO, id: started.id, state: started.state };
    expect(await codeOf(service.finish({ ...request, digest, body: Readable.from([bytes]) }))).toBe('UNAVAILABLE');
    expect(await storage.linkedBlobs.stat(REPO, digest)).toBeUndefined();
    expect((await service.status(request)).offset).toBe(0);
    expect(await codeOf(service.start({ repository: 'team/other', mount: { digest } }))).toBe('UNAVAILABLE');
    expect(await storage.linkedBlobs.stat('team/other', digest)).toBeUndefined();

    await fence.release('run');
    await service.finish({ ...request, digest, body: Readable.from([bytes]) });
    expect(await storage.linkedBlobs.stat(REPO, digest)).toBeDefined();
  });
});
