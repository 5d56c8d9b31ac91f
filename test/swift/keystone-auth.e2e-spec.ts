import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createStorageDriver, StorageDriverError, type StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '@berth/testing';
import { dropContainer, listContainer, type SwiftBackend, swiftBackend, swiftSession } from '@berth/testing';

/**
 * The driver's Keystone v2.0 flow against a real Swift: the identity endpoint hands out real
 * tempauth tokens in a catalog that points at the Swift all-in-one, so every call after
 * authentication is a real Swift call with a real token. Only v2.0 is tested here, because
 * current Keystone no longer serves it (`/v2.0` answers 404); v3 is tested against a real
 * Keystone in keystone-v3.e2e-spec.ts.
 */
describe('swift driver: Keystone v2.0 through an identity endpoint in front of a real Swift', () => {
  let backend: SwiftBackend;
  let identity: IdentityEndpoint;
  const container = `berth-keystone-${randomBytes(4).toString('hex')}`;
  // tempauth user "admin:admin" is project "admin", user "admin", key "admin".
  const credentials = { username: 'admin', password: 'admin', container };

  beforeAll(async () => {
    backend = swiftBackend();
    identity = await startIdentityEndpoint({ swiftAuthUrl: backend.authurl });
  });

  afterAll(async () => {
    await identity?.close();
    if (backend) await dropContainer(backend, container);
  });

  /** The catalog entries (`region/interface`) the driver's storage calls went through since `before`. */
  function entriesUsed(endpoint: IdentityEndpoint, before: number): string[] {
    return [...new Set(endpoint.storageRequests.slice(before).map((request) => `${request.region}/${request.interface}`))];
  }

  /** Small and large writes, listing, move and delete: enough to prove the token and endpoint work. */
  async function roundTrip(driver: StorageDriver): Promise<void> {
    const base = `/keystone-${randomBytes(4).toString('hex')}`;
    await driver.putContent(`${base}/link`, Buffer.from('sha256:abc'));
    expect((await driver.getContent(`${base}/link`)).toString()).toBe('sha256:abc');
    const content = randomBytes(300_000);
    const writer = await driver.writer(`${base}/_uploads/u/data`);
    await pipeline(Readable.from([content.subarray(0, 100_000), content.subarray(100_000)]), writer);
    await writer.commit();
    await driver.move(`${base}/_uploads/u/data`, `${base}/blobs/data`);
    const read = createHash('sha256');
    for await (const chunk of await driver.reader(`${base}/blobs/data`)) read.update(chunk as Buffer);
    expect(read.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    // The upload's manifest moved away and owned nothing else: its folder is gone with it.
    expect(await driver.list(base)).toEqual([`${base}/blobs`, `${base}/link`]);
    await driver.delete(base);
    await expect(driver.stat(base)).rejects.toThrow(/not found/);
  }

  it('v2.0 with a tenant, as the seed configuration: creates the container and works on it', async () => {
    const before = identity.requests.length;
    const storageBefore = identity.storageRequests.length;
    // 128 KiB segments: the 300 kB write spans three of them.
    const driver = createStorageDriver('swift', { ...credentials, authurl: identity.v2Url, tenant: 'admin', chunksize: 128 * 1024 });
    await roundTrip(driver);
    // No region set: the first object-store entry's public URL, as the reference takes it.
    expect(entriesUsed(identity, storageBefore)).toEqual(['RegionTwo/public']);
    const sent = identity.requests.slice(before);
    expect(sent.map((request) => [request.version, request.status])).toEqual([[2, 200]]);
    expect(sent[0]!.body).toEqual({ auth: { passwordCredentials: { username: 'admin', password: 'admin' }, tenantName: 'admin' } });
    // Created at start-up, and left empty by the delete: no segment outlived its manifest.
    const { token, storageUrl } = await swiftSession(backend);
    const head = await fetch(`${storageUrl}/${container}`, { method: 'HEAD', headers: { 'x-auth-token': token } });
    expect(head.status).toBe(204);
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('v2.0 with a region: the public URL of that region, listed last', async () => {
    const before = identity.requests.length;
    const storageBefore = identity.storageRequests.length;
    const driver = createStorageDriver('swift', {
      ...credentials,
      authurl: identity.v2Url,
      tenant: 'admin',
      region: 'RegionOne',
      chunksize: 128 * 1024,
    });
    await roundTrip(driver);
    expect(entriesUsed(identity, storageBefore)).toEqual(['RegionOne/public']);
    expect(identity.requests.slice(before).map((request) => [request.version, request.status])).toEqual([[2, 200]]);
  });

  it('v2.0 with a tenant id and the internal endpoint, listed last of its region', async () => {
    const internal = await startIdentityEndpoint({ swiftAuthUrl: backend.authurl, wanted: { interface: 'internal' } });
    try {
      const driver = createStorageDriver('swift', { ...credentials, authurl: internal.v2Url, tenantid: 'admin', endpointtype: 'internal' });
      await driver.putContent('/v2-internal/file', Buffer.from('x'));
      await driver.delete('/v2-internal');
      // No region set: the first region's internal URL.
      expect(entriesUsed(internal, 0)).toEqual(['RegionTwo/internal']);
      expect(internal.requests.map((request) => request.body)).toEqual([
        { auth: { passwordCredentials: { username: 'admin', password: 'admin' }, tenantId: 'admin' } },
      ]);
    } finally {
      await internal.close();
    }
  });

  it('authenticates again when Swift refuses the token (401), without failing the call', async () => {
    const before = identity.requests.length;
    identity.handOutRefusedTokens(1);
    const driver = createStorageDriver('swift', { ...credentials, authurl: identity.v2Url, tenant: 'admin' });
    await driver.putContent('/refused/file', Buffer.from('after a 401'));
    expect((await driver.getContent('/refused/file')).toString()).toBe('after a 401');
    await driver.delete('/refused');
    expect(identity.requests.length - before).toBe(2);
  });

  it('authenticates again before the token expires', async () => {
    const shortLived = await startIdentityEndpoint({ swiftAuthUrl: backend.authurl, tokenLifetimeSeconds: 2 });
    try {
      const driver = createStorageDriver('swift', { ...credentials, authurl: shortLived.v2Url, tenant: 'admin' });
      await driver.putContent('/renewed/file', Buffer.from('x'));
      expect(shortLived.requests).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // The tempauth token behind it is still good: only the advertised expiry can make the driver renew.
      expect((await driver.getContent('/renewed/file')).toString()).toBe('x');
      expect(shortLived.requests.map((request) => request.status)).toEqual([200, 200]);
      await driver.delete('/renewed');
    } finally {
      await shortLived.close();
    }
  });

  it('fails with a message naming the problem for a wrong password, and for a region without Swift', async () => {
    const wrong = createStorageDriver('swift', { ...credentials, password: 'wrong', authurl: identity.v2Url, tenant: 'admin' });
    const error: unknown = await wrong.getContent('/x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageDriverError);
    expect((error as Error).message).toMatch(/authentication failed: .*answered 401: check storage\.swift\.username/);

    const nowhere = createStorageDriver('swift', { ...credentials, authurl: identity.v2Url, tenant: 'admin', region: 'Elsewhere' });
    await expect(nowhere.getContent('/x')).rejects.toThrow(/no public object-store endpoint in region "Elsewhere"/);
  });
});
