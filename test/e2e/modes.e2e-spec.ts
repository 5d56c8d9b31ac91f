import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '@berth/testing';
import { digestOf } from './support/media-types';
import {
  buildImage,
  expectOciError,
  getBlob,
  getManifest,
  http,
  type PushedImage,
  pushBlob,
  pushImage,
  putManifest,
  startUpload,
  withQuery,
} from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

// Distribution's operating modes: `storage.delete.enabled: false` refuses deletions, and
// `storage.maintenance.readonly.enabled: true` refuses every write; both with
// 405 UNSUPPORTED, while reads go on. The read-only registry serves data a writable one wrote
// on its root just before. Each mode's tests stand on their own root, whatever runs before.
describe('operating modes', () => {
  let work: TempDir;
  let image: PushedImage;
  let blob: Buffer;
  let blobDigest: string;
  const repo = 'modes/app';

  beforeAll(async () => {
    work = await createTempDir('berth-e2e-modes-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  /** The image tagged v1 (and a second one tagged v2) and a loose blob, pushed into `url`. */
  async function pushFixture(url: string): Promise<void> {
    image = await pushImage(url, repo, 'v1');
    await pushImage(url, repo, 'v2');
    blob = randomBytes(500);
    blobDigest = await pushBlob(url, repo, blob);
  }

  describe('storage.delete.enabled: false', () => {
    let registry: RegistryUnderTest;
    let url: string;

    beforeAll(async () => {
      registry = await startRegistryUnderTest({ root: join(work.path, 'deletes-disabled'), deleteEnabled: false });
      url = registry.url;
      await pushFixture(url);
    });

    afterAll(async () => {
      await registry?.stop();
    });

    it('DELETE /v2/<name>/manifests/<digest> with deletes disabled → 405 UNSUPPORTED, the manifest stays', async () => {
      expectOciError(await http(url).delete(`/v2/${repo}/manifests/${image.digest}`), 405, 'UNSUPPORTED');
      expect((await getManifest(url, repo, image.digest)).status).toBe(200);
      expect((await getManifest(url, repo, 'v1')).status).toBe(200);
    });

    it('DELETE /v2/<name>/manifests/<tag> with deletes disabled → 405 UNSUPPORTED, the tag stays', async () => {
      expectOciError(await http(url).delete(`/v2/${repo}/manifests/v1`), 405, 'UNSUPPORTED');
      expect((await getManifest(url, repo, 'v1')).status).toBe(200);
    });

    it('DELETE /v2/<name>/blobs/<digest> with deletes disabled → 405 UNSUPPORTED, the blob stays', async () => {
      expectOciError(await http(url).delete(`/v2/${repo}/blobs/${blobDigest}`), 405, 'UNSUPPORTED');
      const res = await getBlob(url, repo, blobDigest);
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body as Buffer, blob)).toBe(0);
    });

    it('DELETE /v2/<name>/blobs/uploads/<id> with deletes disabled → 204: cancelling an upload deletes nothing stored', async () => {
      const location = await startUpload(url, repo);
      expect((await http(url).delete(location)).status).toBe(204);
    });

    it('PUT /v2/<name>/manifests/<tag> with deletes disabled → 201: writes still work', async () => {
      const { manifest, blobs } = buildImage();
      for (const part of blobs) await pushBlob(url, repo, part);
      expect((await putManifest(url, repo, 'v3', manifest.mediaType, manifest.bytes)).status).toBe(201);
      expect(digestOf((await getManifest(url, repo, 'v3')).body as Buffer)).toBe(digestOf(manifest.bytes));
    });
  });

  describe('storage.maintenance.readonly.enabled: true', () => {
    let registry: RegistryUnderTest;
    let url: string;

    beforeAll(async () => {
      const root = join(work.path, 'read-only');
      const writable = await startRegistryUnderTest({ root });
      try {
        await pushFixture(writable.url);
      } finally {
        await writable.stop();
      }
      registry = await startRegistryUnderTest({ root, storage: { maintenance: { readonly: { enabled: true } } } });
      url = registry.url;
    });

    afterAll(async () => {
      await registry?.stop();
    });

    it('GET /v2/ in read-only mode → 200', async () => {
      expect((await http(url).get('/v2/')).status).toBe(200);
    });

    it('GET and HEAD /v2/<name>/manifests/<reference> in read-only mode → 200 with the stored bytes', async () => {
      for (const reference of ['v1', image.digest]) {
        const res = await getManifest(url, repo, reference);
        expect(res.status).toBe(200);
        expect(Buffer.compare(res.body as Buffer, image.bytes)).toBe(0);
      }
      expect((await http(url).head(`/v2/${repo}/manifests/v1`).set('Accept', image.mediaType)).status).toBe(200);
    });

    it('GET and HEAD /v2/<name>/blobs/<digest> in read-only mode → 200 with the stored bytes', async () => {
      const res = await getBlob(url, repo, blobDigest);
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body as Buffer, blob)).toBe(0);
      expect((await http(url).head(`/v2/${repo}/blobs/${blobDigest}`)).status).toBe(200);
    });

    it('GET /v2/<name>/tags/list and /v2/_catalog in read-only mode → 200 with the stored names', async () => {
      const tags = await http(url).get(`/v2/${repo}/tags/list`);
      expect(tags.status).toBe(200);
      expect((JSON.parse(tags.text) as { tags: string[] }).tags.sort()).toEqual(['v1', 'v2']);
      const catalog = await http(url).get('/v2/_catalog');
      expect(catalog.status).toBe(200);
      expect(JSON.parse(catalog.text)).toEqual({ repositories: [repo] });
    });

    it('POST, PUT and DELETE of stored resources in read-only mode → 405, and nothing changes', async () => {
      const other = buildImage().manifest;
      const refused = [
        await http(url).post(`/v2/${repo}/blobs/uploads/`),
        await putManifest(url, repo, 'v1', other.mediaType, other.bytes),
        await http(url).delete(`/v2/${repo}/manifests/${image.digest}`),
        await http(url).delete(`/v2/${repo}/blobs/${blobDigest}`),
      ];
      expect(refused.map((res) => res.status)).toEqual([405, 405, 405, 405]);
      expect(digestOf((await getManifest(url, repo, 'v1')).body as Buffer)).toBe(image.digest);
      expect((await http(url).head(`/v2/${repo}/blobs/${blobDigest}`)).status).toBe(200);
    });

    beyondReference('answers 405 with a plain-text "Method not allowed", not an OCI error', /^expected an OCI error body, got: Method not allowed/, 'POST /v2/<name>/blobs/uploads/ in read-only mode → 405 UNSUPPORTED', async () => {
      expectOciError(await http(url).post(`/v2/${repo}/blobs/uploads/`), 405, 'UNSUPPORTED');
    });

    beyondReference('answers 405 with a plain-text "Method not allowed", not an OCI error', /^expected an OCI error body, got: Method not allowed/, 'POST /v2/<name>/blobs/uploads/?mount=&from= in read-only mode → 405 UNSUPPORTED', async () => {
      expectOciError(await http(url).post(`/v2/modes/other/blobs/uploads/?mount=${blobDigest}&from=${repo}`), 405, 'UNSUPPORTED');
      expect((await http(url).head(`/v2/modes/other/blobs/${blobDigest}`)).status).toBe(404);
    });

    beyondReference('looks the session up first: 404 BLOB_UPLOAD_INVALID', /^404 \{"errors":\[\{"code":"BLOB_UPLOAD_INVALID"/, 'PATCH, PUT and DELETE /v2/<name>/blobs/uploads/<id> in read-only mode → 405 UNSUPPORTED', async () => {
      const location = `/v2/${repo}/blobs/uploads/0b5a5d2e-4c64-4a43-9b5e-2f3c5d6e7f80`;
      const body = Buffer.from('x');
      expectOciError(await http(url).patch(location).set('Content-Type', 'application/octet-stream').send(body), 405, 'UNSUPPORTED');
      expectOciError(
        await http(url).put(withQuery(location, { digest: digestOf(body) })).set('Content-Type', 'application/octet-stream').send(body),
        405,
        'UNSUPPORTED',
      );
      expectOciError(await http(url).delete(location), 405, 'UNSUPPORTED');
    });

    beyondReference('answers 405 with a plain-text "Method not allowed", not an OCI error', /^expected an OCI error body, got: Method not allowed/, 'PUT /v2/<name>/manifests/<tag> in read-only mode → 405 UNSUPPORTED, the tag does not move', async () => {
      const other = buildImage().manifest;
      expectOciError(await putManifest(url, repo, 'v1', other.mediaType, other.bytes), 405, 'UNSUPPORTED');
      expect(digestOf((await getManifest(url, repo, 'v1')).body as Buffer)).toBe(image.digest);
    });

    beyondReference('answers 405 with a plain-text "Method not allowed", not an OCI error', /^expected an OCI error body, got: Method not allowed/, 'DELETE /v2/<name>/manifests/<digest> and /blobs/<digest> in read-only mode → 405 UNSUPPORTED', async () => {
      expectOciError(await http(url).delete(`/v2/${repo}/manifests/${image.digest}`), 405, 'UNSUPPORTED');
      expectOciError(await http(url).delete(`/v2/${repo}/blobs/${blobDigest}`), 405, 'UNSUPPORTED');
      expect((await getManifest(url, repo, image.digest)).status).toBe(200);
    });
  });
});
