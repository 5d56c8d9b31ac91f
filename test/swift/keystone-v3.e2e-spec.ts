import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import {
  createApplicationCredential,
  createTempDir,
  deleteApplicationCredential,
  dropContainer,
  freePort,
  KeystoneAdmin,
  type KeystoneBackend,
  keystoneBackend,
  type KeystoneEntity,
  type KeystoneToken,
  keystoneToken,
  listContainer,
  ociBlobPath,
  passwordAuth,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startTokenRecorder,
  type TempDir,
  type TokenRecorder,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pathOf, startUpload, withQuery } from '../e2e/support/registry-client';

const MiB = 1024 * 1024;

/**
 * The swift driver's Keystone v3 login against a real Keystone (Debian's keystone 22, started
 * by test/backends/keystone.sh), whose catalog points at a Swift proxy that checks every
 * token with Keystone (authtoken + keystoneauth). Each test file run makes its own domains,
 * user and project, and removes them at the end. Keystone v2.0 is gone from Keystone, so it is
 * tested against the suite's identity endpoint (keystone-auth.e2e-spec.ts).
 */
describe('swift driver: Keystone v3 against a real Keystone and a Swift that trusts it', () => {
  let keystone: KeystoneBackend;
  let admin: KeystoneAdmin;
  /** Every token request berth makes goes through it to the real Keystone. */
  let recorder: TokenRecorder;
  // The user lives in one domain and the project in another, so that each domain key matters.
  let people: KeystoneEntity;
  let places: KeystoneEntity;
  let user: KeystoneEntity;
  let project: KeystoneEntity;
  /** The user's own token and storage URL, to look at the container behind the driver's back. */
  let session: KeystoneToken;
  const suffix = randomBytes(4).toString('hex');
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const container = `berth-keystone-v3-${suffix}`;

  beforeAll(async () => {
    keystone = keystoneBackend();
    admin = await KeystoneAdmin.connect(keystone);
    people = await admin.createDomain(`berth-people-${suffix}`);
    places = await admin.createDomain(`berth-places-${suffix}`);
    user = await admin.createUser('registry', password, people.id);
    project = await admin.createProject('images', places.id);
    // `member` is among keystoneauth's operator_roles: it may create containers and write.
    await admin.grantRole('member', project.id, user.id);
    session = await keystoneToken(keystone.authurl, passwordAuth({ name: user.name, domainId: people.id }, password, project.id));
    recorder = await startTokenRecorder(keystone.authurl);
  });

  afterAll(async () => {
    await recorder?.close();
    if (session) await dropContainer(session, container);
    for (const domain of [people, places]) if (domain) await admin.removeDomain(domain.id);
  });

  /** The driver's parameters with the user's password, and `extra` (domains, tenant, region…). */
  function params(extra: Record<string, unknown>): Record<string, unknown> {
    // 128 KiB segments: the round trip's 300 kB write spans three of them.
    return { authurl: recorder.authurl, username: user.name, password, container, chunksize: 128 * 1024, ...extra };
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
    expect(await driver.list(base)).toEqual([`${base}/blobs`, `${base}/link`]);
    // Written in the project's own account, the one the user's token opens.
    expect(session.storageUrl).toMatch(new RegExp(`/v1/AUTH_${project.id}$`));
    expect((await listContainer(session, container)).filter((name) => name.includes(base))).not.toEqual([]);
    await driver.delete(base);
    await expect(driver.stat(base)).rejects.toThrow(/not found/);
  }

  /** What `run` asked Keystone for: each request's body and Keystone's status. */
  async function tokenRequestsOf(run: () => Promise<void>): Promise<Array<{ status: number; body: unknown; projectId?: string }>> {
    const before = recorder.requests.length;
    await run();
    return recorder.requests.slice(before).map(({ status, body, projectId }) => ({ status, body, projectId }));
  }

  it('by user and project names, each in its own domain (domain, tenantdomain); without tenantdomain Keystone finds no such project', async () => {
    const driver = createStorageDriver('swift', params({ domain: people.name, tenant: project.name, tenantdomain: places.name }));
    expect(await tokenRequestsOf(() => roundTrip(driver))).toEqual([
      {
        status: 201,
        projectId: project.id,
        body: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: user.name, password, domain: { name: people.name } } } },
            scope: { project: { name: project.name, domain: { name: places.name } } },
          },
        },
      },
    ]);

    // The project's domain defaults to the user's, where there is no project "images".
    const misplaced = createStorageDriver('swift', params({ domain: people.name, tenant: project.name }));
    await expect(misplaced.getContent('/x')).rejects.toThrow(/auth v3\) answered 401: check storage\.swift\.username, password and tenant\/domain/);
  });

  it('by ids (domainid, tenantid), and by project name in a domain given by id (tenantdomainid)', async () => {
    const byIds = createStorageDriver('swift', params({ domainid: people.id, tenantid: project.id }));
    expect(await tokenRequestsOf(() => roundTrip(byIds))).toEqual([
      {
        status: 201,
        projectId: project.id,
        body: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: user.name, password, domain: { id: people.id } } } },
            scope: { project: { id: project.id } },
          },
        },
      },
    ]);

    const byDomainIds = createStorageDriver('swift', params({ domainid: people.id, tenant: project.name, tenantdomainid: places.id }));
    const sent = await tokenRequestsOf(() => roundTrip(byDomainIds));
    expect(sent.map(({ status, projectId }) => ({ status, projectId }))).toEqual([{ status: 201, projectId: project.id }]);
    expect(sent[0]!.body).toMatchObject({ auth: { scope: { project: { name: project.name, domain: { id: places.id } } } } });
  });

  it('with a region and an interface: the endpoint of the region named is used; a region without Swift is named in the error', async () => {
    // A second region whose Swift is a closed port: only the region key keeps the driver off it.
    const removeRegion = await admin.addObjectStoreRegion(`berth-elsewhere-${suffix}`, 'http://127.0.0.1:9/v1/AUTH_%(project_id)s');
    try {
      const inRegion = createStorageDriver('swift', params({ domainid: people.id, tenantid: project.id, region: 'RegionOne', endpointtype: 'internal' }));
      expect((await tokenRequestsOf(() => roundTrip(inRegion))).map(({ status }) => status)).toEqual([201]);

      const elsewhere = createStorageDriver('swift', params({ domainid: people.id, tenantid: project.id, region: `berth-elsewhere-${suffix}` }));
      await expect(elsewhere.getContent('/x')).rejects.toThrow(/ECONNREFUSED 127\.0\.0\.1:9/);
    } finally {
      await removeRegion();
    }
    const nowhere = createStorageDriver('swift', params({ domainid: people.id, tenantid: project.id, region: 'RegionTwo' }));
    await expect(nowhere.getContent('/x')).rejects.toThrow(/no public object-store endpoint in region "RegionTwo"/);
  });

  it('with an application credential, by id and by name with its user; once deleted, Keystone refuses it', async () => {
    const credential = await createApplicationCredential(keystone.authurl, session, `berth-${suffix}`);
    const byId = createStorageDriver('swift', {
      authurl: recorder.authurl,
      applicationcredentialid: credential.id,
      applicationcredentialsecret: credential.secret,
      container,
    });
    // No scope in the request: Keystone scopes the token to the credential's project.
    expect(await tokenRequestsOf(() => roundTrip(byId))).toEqual([
      {
        status: 201,
        projectId: project.id,
        body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: credential.secret } } } },
      },
    ]);

    const byName = createStorageDriver('swift', {
      authurl: recorder.authurl,
      username: user.name,
      domainid: people.id,
      applicationcredentialname: credential.name,
      applicationcredentialsecret: credential.secret,
      container,
    });
    const sent = await tokenRequestsOf(() => roundTrip(byName));
    expect(sent.map(({ status, projectId }) => ({ status, projectId }))).toEqual([{ status: 201, projectId: project.id }]);
    expect(sent[0]!.body).toEqual({
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { name: credential.name, user: { name: user.name, domain: { id: people.id } }, secret: credential.secret },
        },
      },
    });

    await deleteApplicationCredential(keystone.authurl, session, credential.id);
    const revoked = createStorageDriver('swift', { authurl: recorder.authurl, applicationcredentialid: credential.id, applicationcredentialsecret: credential.secret, container });
    await expect(revoked.getContent('/x')).rejects.toThrow(
      /answered 404: check storage\.swift\.applicationcredentialid .*\(Keystone: Could not find Application Credential: /,
    );
  });

  describe('through berth', () => {
    let work: TempDir;

    beforeAll(async () => {
      work = await createTempDir('berth-keystone-v3-');
    });

    afterAll(async () => {
      await work?.remove();
    });

    /** A berth on the Keystone-backed Swift, logging in with the user's names and domains. */
    async function startBerthOnKeystone(authurl: string, chunksize: number) {
      const swift = { ...params({ domain: people.name, tenant: project.name, tenantdomain: places.name, region: 'RegionOne' }), authurl, chunksize };
      return startBerth({
        config: {
          version: '0.1',
          log: { level: 'error', accesslog: { disabled: true } },
          storage: { swift, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
          http: { addr: `127.0.0.1:${await freePort()}` },
        },
        readyTimeoutMs: 60_000,
      });
    }

    it('a push and a pull with skopeo: the image comes back byte for byte and lies in the project account', async () => {
      const berth = await startBerthOnKeystone(keystone.authurl, 1 * MiB);
      try {
        const source = join(work.path, 'image');
        const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 2.5 * MiB }, { size: 70_000 }] });
        await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(berth.url, 'keystone/app', 'v1'), { preserveDigests: true });
        const pulled = join(work.path, 'pulled');
        await skopeoCopy(skopeoRef.registry(berth.url, 'keystone/app', 'v1'), skopeoRef.oci(pulled, 'v1'), { preserveDigests: true });
        for (const blob of [image.config, ...image.layers]) {
          expect((await readFile(ociBlobPath(pulled, blob.digest))).equals(await readFile(ociBlobPath(source, blob.digest))), blob.digest).toBe(true);
        }
        const names = await listContainer(session, container);
        expect(names).toContain('files/docker/registry/v2/repositories/keystone/app/_manifests/tags/v1/current/link');
      } finally {
        await berth.stop();
      }
    });

    it('tokens of a few seconds expire twice mid-upload: berth logs in again after each expiry, and the blob arrives intact', async () => {
      const shortLived = await startTokenRecorder(keystone.shortAuthurl);
      // 256 KiB segments: each chunk below spans several.
      const berth = await startBerthOnKeystone(shortLived.authurl, 256 * 1024);
      try {
        const repo = 'keystone/expiring';
        const blob = randomBytes(2.5 * MiB);
        const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
        const newestToken = () => shortLived.requests[shortLived.requests.length - 1]!.token!;
        /** Waits until Keystone no longer honours the newest token, then proves Swift refuses it too. */
        const outliveNewestToken = async () => {
          const token = newestToken();
          const deadline = Date.now() + (keystone.shortTokenLifeSeconds + 30) * 1000;
          while (await admin.tokenIsValid(token)) {
            if (Date.now() > deadline) throw new Error(`a token of ${keystone.shortTokenLifeSeconds} s is still valid`);
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          const head = await fetch(session.storageUrl, { method: 'HEAD', headers: { 'x-auth-token': token } });
          expect(head.status).toBe(401);
        };

        const first = await http(berth.url)
          .patch(await startUpload(berth.url, repo))
          .set('Content-Type', 'application/octet-stream')
          .set('Content-Range', `0-${1 * MiB - 1}`)
          .send(blob.subarray(0, 1 * MiB));
        expect(first.status, first.text).toBe(202);
        const afterFirst = shortLived.requests.length;
        expect(afterFirst).toBeGreaterThanOrEqual(1);

        await outliveNewestToken();
        const second = await http(berth.url)
          .patch(pathOf(first.headers.location))
          .set('Content-Type', 'application/octet-stream')
          .set('Content-Range', `${1 * MiB}-${2 * MiB - 1}`)
          .send(blob.subarray(1 * MiB, 2 * MiB));
        expect(second.status, second.text).toBe(202);
        // One new token for the chunk sent after the old one expired.
        expect(shortLived.requests.length).toBe(afterFirst + 1);

        await outliveNewestToken();
        const put = await http(berth.url)
          .put(withQuery(pathOf(second.headers.location), { digest }))
          .set('Content-Type', 'application/octet-stream')
          .set('Content-Range', `${2 * MiB}-${blob.length - 1}`)
          .send(blob.subarray(2 * MiB));
        expect(put.status, put.text).toBe(201);
        expect(shortLived.requests.length).toBe(afterFirst + 2);
        expect(shortLived.requests.every((request) => request.status === 201 && request.projectId === project.id)).toBe(true);

        const pulled = await http(berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
        expect(pulled.status).toBe(200);
        expect(createHash('sha256').update(pulled.body as Buffer).digest('hex')).toBe(digest.slice('sha256:'.length));
      } finally {
        await berth.stop();
        await shortLived.close();
      }
    });
  });
});
