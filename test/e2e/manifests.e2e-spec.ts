import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptAnyManifest, digestOf, hexOf, mediaTypes } from './support/media-types';
import {
  buildImage,
  expectOciError,
  getManifest,
  http,
  indexOf,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  putManifest,
} from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

/** Valid JSON laid out as no serializer would: only a store that keeps the bytes gives them back. */
const oddlySpaced = (manifest: object) =>
  `\n  ${JSON.stringify(manifest, null, '\t').replace(/": /g, '"\t :  ').replace(/\n/g, '\r\n ')}  \n\n`;

// distribution-spec v1.1 "Pushing manifests", "Pulling manifests", "Deleting manifests", for
// the four manifest kinds clients push, and the reference's Accept negotiation and checks.
describe('manifests: /v2/<name>/manifests/<reference>', () => {
  let registry: RegistryUnderTest;
  let url: string;

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  async function expectServed(repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
    const res = await getManifest(url, repo, reference);
    expect(res.status, `GET ${repo}:${reference}`).toBe(200);
    expect(res.headers['content-type']).toBe(mediaType);
    expect(res.headers['docker-content-digest']).toBe(digestOf(bytes));
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect((res.body as Buffer).toString('latin1')).toBe(bytes.toString('latin1'));
  }

  describe('PUT and GET of each manifest kind', () => {
    for (const format of ['docker', 'oci'] as const) {
      const kind = format === 'oci' ? 'an OCI image manifest' : 'a Docker schema 2 manifest';

      it(`PUT /v2/<name>/manifests/<tag> of ${kind} → 201 with Location and Docker-Content-Digest`, async () => {
        const repo = `manifests/put-tag-${format}`;
        const { manifest, blobs } = buildImage({ format });
        for (const blob of blobs) await pushBlob(url, repo, blob);
        const res = await putManifest(url, repo, 'v1', manifest.mediaType, manifest.bytes);
        expect(res.status, res.text).toBe(201);
        expect(new URL(res.headers.location as string, url).pathname).toBe(`/v2/${repo}/manifests/${manifest.digest}`);
        expect(res.headers['docker-content-digest']).toBe(manifest.digest);
      });

      it(`PUT /v2/<name>/manifests/<digest> of ${kind} → 201, and it answers by digest`, async () => {
        const repo = `manifests/put-digest-${format}`;
        const image = await pushImage(url, repo, undefined, { format });
        await expectServed(repo, image.digest, image.mediaType, image.bytes);
      });

      it(`GET /v2/<name>/manifests/<tag> of ${kind} with odd whitespace → 200, its media type, the very bytes pushed`, async () => {
        const repo = `manifests/exact-${format}`;
        const image = await pushImage(url, repo, 'odd', { format, serialize: oddlySpaced });
        expect(image.bytes.toString()).toContain('\t :  ');
        await expectServed(repo, 'odd', image.mediaType, image.bytes);
        await expectServed(repo, image.digest, image.mediaType, image.bytes);
      });

      it(`HEAD /v2/<name>/manifests/<tag> of ${kind} → 200 with Content-Type, Content-Length, Docker-Content-Digest, no body`, async () => {
        const repo = `manifests/head-${format}`;
        const image = await pushImage(url, repo, 'v1', { format });
        const res = await http(url).head(`/v2/${repo}/manifests/v1`).set('Accept', acceptAnyManifest);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe(image.mediaType);
        expect(res.headers['content-length']).toBe(String(image.bytes.length));
        expect(res.headers['docker-content-digest']).toBe(image.digest);
        expect(res.text ?? '').toBe('');
      });
    }

    it('PUT /v2/<name>/manifests/<tag> of a Docker manifest list over pushed manifests → 201; GET → the list, byte-exact', async () => {
      const repo = 'manifests/list';
      const children = [
        await pushImage(url, repo, undefined, { format: 'docker' }),
        await pushImage(url, repo, undefined, { format: 'docker', platform: { os: 'linux', architecture: 'arm64' } }),
      ];
      const list = await pushIndex(url, repo, 'multi', children, 'docker');
      await expectServed(repo, 'multi', mediaTypes.dockerManifestList, list.bytes);
      await expectServed(repo, list.digest, mediaTypes.dockerManifestList, list.bytes);
    });

    it('PUT /v2/<name>/manifests/<tag> of an OCI index over pushed manifests → 201; GET → the index, byte-exact', async () => {
      const repo = 'manifests/index';
      const children = [await pushImage(url, repo), await pushImage(url, repo)];
      const index = await pushIndex(url, repo, 'multi', children, 'oci');
      await expectServed(repo, 'multi', mediaTypes.ociIndex, index.bytes);
      // The children answer by digest too.
      for (const child of children) await expectServed(repo, child.digest, child.mediaType, child.bytes);
    });

    it('GET /v2/<name>/manifests/<tag> never pushed → 404 MANIFEST_UNKNOWN', async () => {
      await pushImage(url, 'manifests/unknown', 'exists');
      expectOciError(await getManifest(url, 'manifests/unknown', 'missing'), 404, 'MANIFEST_UNKNOWN');
    });

    it('GET /v2/<name>/manifests/<digest> never pushed → 404 MANIFEST_UNKNOWN', async () => {
      await pushImage(url, 'manifests/unknown-digest', 'exists');
      expectOciError(await getManifest(url, 'manifests/unknown-digest', digestOf('nothing')), 404, 'MANIFEST_UNKNOWN');
    });

    it('GET /v2/<name>/manifests/<digest> of a manifest pushed to another repository → 404 MANIFEST_UNKNOWN', async () => {
      const image = await pushImage(url, 'manifests/owner', 'v1');
      await pushImage(url, 'manifests/stranger', 'v1');
      expectOciError(await getManifest(url, 'manifests/stranger', image.digest), 404, 'MANIFEST_UNKNOWN');
    });
  });

  describe('Accept negotiation', () => {
    const dockerOnly = `${mediaTypes.dockerManifest}, ${mediaTypes.dockerManifestList}`;

    it('GET /v2/<name>/manifests/<tag> of an OCI manifest with an Accept of Docker types only → 404 MANIFEST_UNKNOWN', async () => {
      await pushImage(url, 'manifests/accept-oci', 'v1');
      expectOciError(await getManifest(url, 'manifests/accept-oci', 'v1', dockerOnly), 404, 'MANIFEST_UNKNOWN');
    });

    it('GET /v2/<name>/manifests/<digest> of an OCI index with an Accept of Docker types only → 404 MANIFEST_UNKNOWN', async () => {
      const repo = 'manifests/accept-index';
      const index = await pushIndex(url, repo, 'multi', [await pushImage(url, repo)], 'oci');
      expectOciError(await getManifest(url, repo, index.digest, dockerOnly), 404, 'MANIFEST_UNKNOWN');
    });

    it('GET /v2/<name>/manifests/<tag> of an OCI manifest with an Accept listing it among others (with q-values) → 200', async () => {
      const image = await pushImage(url, 'manifests/accept-q', 'v1');
      const accept = `${mediaTypes.dockerManifest};q=0.9, ${mediaTypes.ociManifest};q=0.5`;
      const res = await getManifest(url, 'manifests/accept-q', 'v1', accept);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(mediaTypes.ociManifest);
      expect(res.headers['docker-content-digest']).toBe(image.digest);
    });

    it('GET /v2/<name>/manifests/<digest> of a Docker schema 2 manifest without Accept → 200 with its own media type', async () => {
      const image = await pushImage(url, 'manifests/no-accept', 'v1', { format: 'docker' });
      const res = await http(url).get(`/v2/manifests/no-accept/manifests/${image.digest}`).responseType('blob');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(mediaTypes.dockerManifest);
      expect(Buffer.compare(res.body as Buffer, image.bytes)).toBe(0);
    });
  });

  // What old Docker engines, npm's docker-registry-client and the `curl -I` recipe send: the
  // schema 2 type alone. The reference (handlers/manifests.go) answers a Docker manifest list
  // fetched by tag with its linux/amd64 manifest; berth does the same.
  describe('clients that name only Docker schema 2', () => {
    const schema2Only = mediaTypes.dockerManifest;

    /** A Docker manifest list whose linux/amd64 manifest is not the first entry. */
    async function pushMultiArch(repo: string, tag: string) {
      const arm64 = await pushImage(url, repo, undefined, { format: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
      const amd64 = await pushImage(url, repo, undefined, { format: 'docker' });
      const listing = indexOf(mediaTypes.dockerManifestList, [
        { ...arm64.descriptor, platform: { os: 'linux', architecture: 'arm64' } },
        { ...amd64.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      ]);
      const bytes = Buffer.from(JSON.stringify(listing));
      const digest = await pushManifest(url, repo, tag, mediaTypes.dockerManifestList, bytes);
      return { amd64, list: { digest, bytes } };
    }

    it('GET /v2/<name>/manifests/<tag> of a Docker manifest list → 200, its linux/amd64 manifest under that digest', async () => {
      const repo = 'manifests/old-client-get';
      const { amd64 } = await pushMultiArch(repo, 'multi');
      const res = await getManifest(url, repo, 'multi', schema2Only);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toBe(mediaTypes.dockerManifest);
      expect(res.headers['docker-content-digest']).toBe(amd64.digest);
      expect(res.headers.etag).toBe(`"${amd64.digest}"`);
      expect(res.headers['content-length']).toBe(String(amd64.bytes.length));
      expect(Buffer.compare(res.body as Buffer, amd64.bytes)).toBe(0);
    });

    it('HEAD /v2/<name>/manifests/<tag> of a Docker manifest list → 200 with the linux/amd64 manifest\'s digest (the `curl -I` recipe)', async () => {
      const repo = 'manifests/old-client-head';
      const { amd64 } = await pushMultiArch(repo, 'multi');
      const res = await http(url).head(`/v2/${repo}/manifests/multi`).set('Accept', schema2Only);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(mediaTypes.dockerManifest);
      expect(res.headers['docker-content-digest']).toBe(amd64.digest);
      expect(res.headers['content-length']).toBe(String(amd64.bytes.length));
      // The digest answered is the one to delete by: it names a manifest of the repository.
      expect((await http(url).delete(`/v2/${repo}/manifests/${amd64.digest}`)).status).toBe(202);
    });

    it('GET /v2/<name>/manifests/<digest> of a Docker manifest list → 200, the list itself: nothing else has its digest', async () => {
      const repo = 'manifests/old-client-digest';
      const { list } = await pushMultiArch(repo, 'multi');
      const res = await getManifest(url, repo, list.digest, schema2Only);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toBe(mediaTypes.dockerManifestList);
      expect(res.headers['docker-content-digest']).toBe(list.digest);
      expect(Buffer.compare(res.body as Buffer, list.bytes)).toBe(0);
    });

    it('GET /v2/<name>/manifests/<tag> of a Docker manifest list without linux/amd64 → 404 MANIFEST_UNKNOWN', async () => {
      const repo = 'manifests/old-client-no-amd64';
      const arm64 = await pushImage(url, repo, undefined, { format: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
      const windows = await pushImage(url, repo, undefined, { format: 'docker', platform: { os: 'windows', architecture: 'amd64' } });
      const listing = indexOf(mediaTypes.dockerManifestList, [
        { ...arm64.descriptor, platform: { os: 'linux', architecture: 'arm64' } },
        { ...windows.descriptor, platform: { os: 'windows', architecture: 'amd64' } },
      ]);
      await pushManifest(url, repo, 'multi', mediaTypes.dockerManifestList, JSON.stringify(listing));
      expectOciError(await getManifest(url, repo, 'multi', schema2Only), 404, 'MANIFEST_UNKNOWN');
      expect((await http(url).head(`/v2/${repo}/manifests/multi`).set('Accept', schema2Only)).status).toBe(404);
    });

    it('GET /v2/<name>/manifests/<tag> of an OCI index → 404 MANIFEST_UNKNOWN: no fallback for OCI', async () => {
      const repo = 'manifests/old-client-oci-index';
      await pushIndex(url, repo, 'multi', [await pushImage(url, repo)], 'oci');
      expectOciError(await getManifest(url, repo, 'multi', schema2Only), 404, 'MANIFEST_UNKNOWN');
    });

    it('GET /v2/<name>/manifests/<tag> of a Docker manifest list with an Accept naming lists → 200, the list', async () => {
      const repo = 'manifests/old-client-list-accepted';
      const { list } = await pushMultiArch(repo, 'multi');
      const res = await getManifest(url, repo, 'multi', `${schema2Only}, ${mediaTypes.dockerManifestList}`);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['docker-content-digest']).toBe(list.digest);
    });

    beyondReference(
      'takes no Accept for a schema 1 client: the linux/amd64 manifest rewritten into a signed schema 1',
      async () => {
        const repo = 'manifests/no-accept-list';
        await pushMultiArch(repo, 'multi');
        const res = await http(url).get(`/v2/${repo}/manifests/multi`).responseType('blob');
        expect(res.status, res.text).toBe(200);
        expect(res.headers['content-type']).toBe(mediaTypes.dockerSchema1Signed);
      },
      'GET /v2/<name>/manifests/<tag> of a Docker manifest list without Accept → 200, the list (no Accept means any type)',
      async () => {
        const repo = 'manifests/no-accept-list';
        const { list } = await pushMultiArch(repo, 'multi');
        const res = await http(url).get(`/v2/${repo}/manifests/multi`).responseType('blob');
        expect(res.status, res.text).toBe(200);
        expect(res.headers['content-type']).toBe(mediaTypes.dockerManifestList);
        expect(res.headers['docker-content-digest']).toBe(list.digest);
      },
    );

    beyondReference(
      'rewrites it into a signed schema 1 manifest under another digest',
      async () => {
        const image = await pushImage(url, 'manifests/schema1-client-image', 'v1', { format: 'docker' });
        const res = await getManifest(url, 'manifests/schema1-client-image', 'v1', mediaTypes.dockerSchema1Signed);
        expect(res.status, res.text).toBe(200);
        expect(res.headers['content-type']).toBe(mediaTypes.dockerSchema1Signed);
        expect(res.headers['docker-content-digest']).not.toBe(image.digest);
      },
      'GET /v2/<name>/manifests/<tag> of a Docker schema 2 manifest with an Accept of schema 1 only → 200, as stored',
      async () => {
        const image = await pushImage(url, 'manifests/schema1-client-image', 'v1', { format: 'docker' });
        const res = await getManifest(url, 'manifests/schema1-client-image', 'v1', mediaTypes.dockerSchema1Signed);
        expect(res.status, res.text).toBe(200);
        expect(res.headers['content-type']).toBe(mediaTypes.dockerManifest);
        expect(res.headers['docker-content-digest']).toBe(image.digest);
      },
    );

    // Older still: clients that name no schema 2 (schema 1 only, or OCI only). The reference
    // rewrites schema 2 into a schema 1 manifest signed with its per-process key; berth never
    // makes schema 1 (refused on push, dropped by Distribution 3) and serves schema 2 as stored.
    for (const [label, accept] of [
      ['schema 1 only', mediaTypes.dockerSchema1Signed],
      ['OCI types only', `${mediaTypes.ociManifest}, ${mediaTypes.ociIndex}`],
    ] as const) {
      beyondReference(
        'rewrites it into a signed schema 1 manifest under another digest',
        async () => {
          const repo = `manifests/schema1-client-${label.split(' ')[0]!.toLowerCase()}`;
          const { amd64 } = await pushMultiArch(repo, 'multi');
          const res = await getManifest(url, repo, 'multi', accept);
          expect(res.status, res.text).toBe(200);
          expect(res.headers['content-type']).toBe(mediaTypes.dockerSchema1Signed);
          const schema1 = JSON.parse((res.body as Buffer).toString('utf8')) as { schemaVersion: number; tag: string; signatures: unknown[] };
          expect(schema1).toMatchObject({ schemaVersion: 1, tag: 'multi' });
          expect(schema1.signatures).toHaveLength(1);
          expect(res.headers['docker-content-digest']).not.toBe(amd64.digest);
        },
        `GET /v2/<name>/manifests/<tag> of a Docker manifest list with an Accept of ${label} → 200, the linux/amd64 schema 2 manifest as stored`,
        async () => {
          const repo = `manifests/schema1-client-${label.split(' ')[0]!.toLowerCase()}`;
          const { amd64 } = await pushMultiArch(repo, 'multi');
          const res = await getManifest(url, repo, 'multi', accept);
          expect(res.status, res.text).toBe(200);
          expect(res.headers['content-type']).toBe(mediaTypes.dockerManifest);
          expect(res.headers['docker-content-digest']).toBe(amd64.digest);
          expect(Buffer.compare(res.body as Buffer, amd64.bytes)).toBe(0);
        },
      );
    }
  });

  describe('invalid manifests', () => {
    it('PUT /v2/<name>/manifests/<tag> of a signed schema 1 manifest → 400 MANIFEST_INVALID', async () => {
      const layer = await pushBlob(url, 'manifests/schema1', randomBytes(100));
      const schema1 = JSON.stringify({
        schemaVersion: 1,
        name: 'manifests/schema1',
        tag: 'v1',
        architecture: 'amd64',
        fsLayers: [{ blobSum: layer }],
        history: [{ v1Compatibility: JSON.stringify({ id: 'a'.repeat(64) }) }],
        signatures: [
          {
            header: { jwk: { crv: 'P-256', kid: 'X', kty: 'EC', x: 'AA', y: 'AA' }, alg: 'ES256' },
            signature: 'AAAA',
            protected: 'eyJmb3JtYXRMZW5ndGgiOjEwLCJmb3JtYXRUYWlsIjoiZlEiLCJ0aW1lIjoiMjAyNi0wMS0wMVQwMDowMDowMFoifQ',
          },
        ],
      });
      const res = await putManifest(url, 'manifests/schema1', 'v1', mediaTypes.dockerSchema1Signed, schema1);
      expectOciError(res, 400, 'MANIFEST_INVALID');
      expectOciError(await getManifest(url, 'manifests/schema1', 'v1'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    for (const [label, body, deviation] of [
      ['malformed JSON', '{"schemaVersion": 2, "mediaType": ', undefined],
      ['a JSON array', '[]', undefined],
      ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: mediaTypes.ociManifest, config: {}, layers: [] }), 'answers 500 UNKNOWN'],
    ] as const) {
      const test = (name: string, fn: () => Promise<void>) =>
        deviation ? beyondReference(deviation, /^500 \{"errors":\[\{"code":"UNKNOWN"/, name, fn) : it(name, fn);
      test(`PUT /v2/<name>/manifests/<tag> of ${label} → 400 MANIFEST_INVALID`, async () => {
        expectOciError(await putManifest(url, 'manifests/invalid', 'v1', mediaTypes.ociManifest, body), 400, 'MANIFEST_INVALID');
      });
    }

    for (const [label, missing] of [
      ['layer', 'layer'],
      ['config', 'config'],
    ] as const) {
      it(`PUT /v2/<name>/manifests/<tag> of a manifest whose ${label} was never pushed → 400 MANIFEST_BLOB_UNKNOWN`, async () => {
        const repo = `manifests/missing-${missing}`;
        const { manifest, blobs } = buildImage();
        // blobs = [config, ...layers]: leave out the config, or the last layer.
        const pushed = missing === 'config' ? blobs.slice(1) : blobs.slice(0, -1);
        for (const blob of pushed) await pushBlob(url, repo, blob);
        const res = await putManifest(url, repo, 'v1', manifest.mediaType, manifest.bytes);
        expectOciError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
        expectOciError(await getManifest(url, repo, manifest.digest), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
      });
    }

    it('PUT /v2/<name>/manifests/<tag> of a manifest whose blobs live only in another repository → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, 'manifests/blobs-elsewhere', blob);
      const res = await putManifest(url, 'manifests/blobs-here', 'v1', manifest.mediaType, manifest.bytes);
      expectOciError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('PUT /v2/<name>/manifests/<tag> of an OCI index with a child never pushed → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const repo = 'manifests/index-missing-child';
      const present = await pushImage(url, repo);
      const absent = buildImage().manifest;
      const bytes = JSON.stringify(indexOf(mediaTypes.ociIndex, [present.descriptor, absent.descriptor]));
      expectOciError(await putManifest(url, repo, 'multi', mediaTypes.ociIndex, bytes), 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('PUT /v2/<name>/manifests/<tag> of a Docker manifest list with a child never pushed → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const repo = 'manifests/list-missing-child';
      const absent = buildImage({ format: 'docker' }).manifest;
      const bytes = JSON.stringify(indexOf(mediaTypes.dockerManifestList, [absent.descriptor]));
      expectOciError(await putManifest(url, repo, 'multi', mediaTypes.dockerManifestList, bytes), 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    beyondReference('answers 400 MANIFEST_INVALID; the spec names 413', /^\{"errors":\[\{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"http: request body too large"\}\]\}/, 'PUT /v2/<name>/manifests/<tag> of 4 MiB + 1 bytes → 413', async () => {
      const repo = 'manifests/too-large';
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, repo, blob);
      const base = JSON.parse(manifest.bytes.toString()) as Record<string, unknown>;
      const withPad = (pad: number) => JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(pad) } });
      const limit = 4 * 1024 * 1024;
      const body = withPad(limit + 1 - withPad(0).length);
      expect(body.length).toBe(limit + 1);
      const res = await putManifest(url, repo, 'big', mediaTypes.ociManifest, body);
      expect(res.status, res.text).toBe(413);
      expectOciError(await getManifest(url, repo, 'big'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    it('PUT /v2/<name>/manifests/<tag> of exactly 4 MiB → 201', async () => {
      const repo = 'manifests/largest';
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, repo, blob);
      const base = JSON.parse(manifest.bytes.toString()) as Record<string, unknown>;
      const withPad = (pad: number) => JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(pad) } });
      const body = withPad(4 * 1024 * 1024 - withPad(0).length);
      expect(body.length).toBe(4 * 1024 * 1024);
      await pushManifest(url, repo, 'big', mediaTypes.ociManifest, body);
    });

    beyondReference('2.8 computes sha256 only: 400 DIGEST_INVALID', /^\{"errors":\[\{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"\}\]\}/, 'PUT /v2/<name>/manifests/sha512:<hex> → 201 under that digest, and it answers by it', async () => {
      const repo = 'manifests/sha512';
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, repo, blob);
      const digest = digestOf(manifest.bytes, 'sha512');
      const res = await putManifest(url, repo, digest, manifest.mediaType, manifest.bytes);
      expect(res.status, res.text).toBe(201);
      expect(res.headers['docker-content-digest']).toBe(digest);
      expect(new URL(res.headers.location as string, url).pathname).toBe(`/v2/${repo}/manifests/${digest}`);
      const got = await getManifest(url, repo, digest);
      expect(got.status).toBe(200);
      expect(got.headers['docker-content-digest']).toBe(digest);
      expect((got.body as Buffer).equals(manifest.bytes)).toBe(true);
    });

    it('PUT /v2/<name>/manifests/<digest> whose body has another digest → 400 DIGEST_INVALID', async () => {
      const repo = 'manifests/wrong-digest';
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, repo, blob);
      const res = await putManifest(url, repo, digestOf('other bytes'), manifest.mediaType, manifest.bytes);
      expectOciError(res, 400, 'DIGEST_INVALID');
      expectOciError(await getManifest(url, repo, manifest.digest), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });
  });

  describe('DELETE and tag moves', () => {
    beyondReference('2.8 deletes by digest only (400 DIGEST_INVALID)', /^\{"errors":\[\{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"\}\]\}/, 'DELETE /v2/<name>/manifests/<tag> → 202, the tag is gone and the digest still answers', async () => {
      const repo = 'manifests/untag';
      const image = await pushImage(url, repo, 'v1');
      await pushManifest(url, repo, 'v2', image.mediaType, image.bytes);
      const res = await http(url).delete(`/v2/${repo}/manifests/v1`);
      expect(res.status, res.text).toBe(202);
      expectOciError(await getManifest(url, repo, 'v1'), 404, 'MANIFEST_UNKNOWN');
      await expectServed(repo, image.digest, image.mediaType, image.bytes);
      await expectServed(repo, 'v2', image.mediaType, image.bytes);
      expect(JSON.parse((await http(url).get(`/v2/${repo}/tags/list`)).text)).toEqual({ name: repo, tags: ['v2'] });
    });

    it('DELETE /v2/<name>/manifests/<digest> → 202, then GET by digest and by its tag → 404 MANIFEST_UNKNOWN', async () => {
      const repo = 'manifests/delete';
      const image = await pushImage(url, repo, 'v1');
      await pushImage(url, repo, 'keep');
      const res = await http(url).delete(`/v2/${repo}/manifests/${image.digest}`);
      expect(res.status, res.text).toBe(202);
      expectOciError(await getManifest(url, repo, image.digest), 404, 'MANIFEST_UNKNOWN');
      expect((await http(url).head(`/v2/${repo}/manifests/${image.digest}`).set('Accept', acceptAnyManifest)).status).toBe(404);
      expectOciError(await getManifest(url, repo, 'v1'), 404, 'MANIFEST_UNKNOWN');
      const manifestsDir = join(registry.root, 'docker/registry/v2/repositories', repo, '_manifests');
      await expect(readFile(join(manifestsDir, 'revisions/sha256', hexOf(image.digest), 'link'))).rejects.toThrow(/ENOENT/);
      await expect(readFile(join(manifestsDir, 'tags/v1/current/link'))).rejects.toThrow(/ENOENT/);
      expect(JSON.parse((await http(url).get(`/v2/${repo}/tags/list`)).text)).toEqual({ name: repo, tags: ['keep'] });
    });

    it('DELETE /v2/<name>/manifests/<digest> never pushed → 404 MANIFEST_UNKNOWN', async () => {
      await pushImage(url, 'manifests/delete-unknown', 'v1');
      expectOciError(await http(url).delete(`/v2/manifests/delete-unknown/manifests/${digestOf('no')}`), 404, 'MANIFEST_UNKNOWN');
    });

    it('PUT /v2/<name>/manifests/<tag> of a second manifest → the tag moves to it, the first still answers by digest', async () => {
      const repo = 'manifests/move';
      const first = await pushImage(url, repo, 'latest');
      const second = await pushImage(url, repo, 'latest');
      await expectServed(repo, 'latest', second.mediaType, second.bytes);
      await expectServed(repo, first.digest, first.mediaType, first.bytes);
      const tagDir = join(registry.root, 'docker/registry/v2/repositories', repo, '_manifests/tags/latest');
      expect(await readFile(join(tagDir, 'current/link'), 'utf8')).toBe(second.digest);
      // The tag's index keeps every manifest the tag has pointed at (Distribution's layout).
      expect((await readdir(join(tagDir, 'index/sha256'))).sort()).toEqual([hexOf(first.digest), hexOf(second.digest)].sort());
    });
  });

  describe('concurrency', () => {
    it('PUT /v2/<name>/manifests/<tag> of the same manifest by two clients at once → both 201', async () => {
      const repo = 'manifests/race-same';
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, repo, blob);
      const results = await Promise.all([1, 2].map(() => putManifest(url, repo, 'v1', manifest.mediaType, manifest.bytes)));
      for (const res of results) {
        expect(res.status, res.text).toBe(201);
        expect(res.headers['docker-content-digest']).toBe(manifest.digest);
      }
      await expectServed(repo, 'v1', manifest.mediaType, manifest.bytes);
    });

    it('PUT /v2/<name>/manifests/<tag> of two manifests at once → both 201, the tag names one of them whole', async () => {
      const repo = 'manifests/race-tag';
      const images = [buildImage(), buildImage()];
      for (const { blobs } of images) for (const blob of blobs) await pushBlob(url, repo, blob);
      const results = await Promise.all(
        images.map(({ manifest }) => putManifest(url, repo, 'v1', manifest.mediaType, manifest.bytes)),
      );
      for (const res of results) expect(res.status, res.text).toBe(201);
      const served = await getManifest(url, repo, 'v1');
      expect(images.map(({ manifest }) => manifest.digest)).toContain(digestOf(served.body as Buffer));
    });
  });

  describe('the storage layout', () => {
    it('PUT of blobs and a manifest by tag → Distribution\'s files, each link holding sha256:<hex>', async () => {
      const repo = 'layout/app';
      const image = await pushImage(url, repo, 'v1');
      const v2 = join(registry.root, 'docker/registry/v2');
      const blobData = (digest: string) => join(v2, 'blobs/sha256', hexOf(digest).slice(0, 2), hexOf(digest), 'data');
      const repoDir = join(v2, 'repositories', repo);

      expect(Buffer.compare(await readFile(blobData(image.digest)), image.bytes)).toBe(0);
      for (const blob of [image.config, ...image.layers]) {
        expect((await readFile(blobData(blob.digest))).length).toBe(blob.size);
        expect(await readFile(join(repoDir, '_layers/sha256', hexOf(blob.digest), 'link'), 'utf8')).toBe(blob.digest);
      }
      const hex = hexOf(image.digest);
      expect(await readFile(join(repoDir, '_manifests/revisions/sha256', hex, 'link'), 'utf8')).toBe(image.digest);
      expect(await readFile(join(repoDir, '_manifests/tags/v1/current/link'), 'utf8')).toBe(image.digest);
      expect(await readFile(join(repoDir, '_manifests/tags/v1/index/sha256', hex, 'link'), 'utf8')).toBe(image.digest);
      // A finished push leaves no upload session behind.
      expect(await readdir(join(repoDir, '_uploads')).catch(() => [])).toEqual([]);
    });
  });
});
