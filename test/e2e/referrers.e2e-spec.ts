import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Descriptor, descriptorOf, digestOf, mediaTypes } from './support/media-types';
import { expectOciError, http, pushBlob, pushImage, putManifest } from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

const sbomType = 'application/vnd.example.sbom.v1+json';
const signatureType = 'application/vnd.example.signature.v1+json';
const noReferrers = 'Distribution 2.8 has no referrers API and no OCI-Subject';

interface Referrer {
  readonly descriptor: Descriptor;
  readonly subjectHeader: string | undefined;
}

// distribution-spec v1.1 "Listing Referrers" and "Pushing manifests with subject"
// (berth implements them; the reference registry 2.8 does not, DESIGN.md).
describe('referrers: /v2/<name>/referrers/<digest>', () => {
  let registry: RegistryUnderTest;
  let url: string;
  const emptyConfig = Buffer.from('{}');

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  /**
   * Pushes an artifact manifest (empty config, one layer) whose `subject` is `subject`;
   * with `artifactType` undefined the artifact type is its config's media type.
   */
  async function pushReferrer(
    repo: string,
    subject: Descriptor,
    options: { artifactType?: string; configMediaType?: string; annotations?: Record<string, string> } = {},
  ): Promise<Referrer> {
    const configMediaType = options.configMediaType ?? mediaTypes.ociEmpty;
    await pushBlob(url, repo, emptyConfig);
    const layer = randomBytes(200);
    await pushBlob(url, repo, layer);
    const manifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
      config: descriptorOf(configMediaType, emptyConfig),
      layers: [descriptorOf('application/octet-stream', layer)],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    };
    const bytes = JSON.stringify(manifest);
    const res = await putManifest(url, repo, digestOf(bytes), mediaTypes.ociManifest, bytes);
    expect(res.status, res.text).toBe(201);
    return {
      descriptor: {
        ...descriptorOf(mediaTypes.ociManifest, bytes),
        artifactType: options.artifactType ?? configMediaType,
        ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
      },
      subjectHeader: res.headers['oci-subject'],
    };
  }

  async function referrersOf(repo: string, digest: string, query = '') {
    const res = await http(url).get(`/v2/${repo}/referrers/${digest}${query}`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/vnd\.oci\.image\.index\.v1\+json/);
    const index = JSON.parse(res.text) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(mediaTypes.ociIndex);
    return { res, manifests: index.manifests };
  }

  const byDigest = (a: Descriptor, b: Descriptor) => a.digest.localeCompare(b.digest);

  beyondReference(noReferrers, /^expected undefined to be 'sha256:/, 'PUT /v2/<name>/manifests/<digest> of a manifest with subject → 201 and OCI-Subject: <subject digest>', async () => {
    const repo = 'referrers/subject-header';
    const image = await pushImage(url, repo, 'v1');
    const referrer = await pushReferrer(repo, image.descriptor, { artifactType: sbomType });
    expect(referrer.subjectHeader).toBe(image.digest);
  });

  it('PUT /v2/<name>/manifests/<digest> of a manifest without subject → 201 and no OCI-Subject', async () => {
    const repo = 'referrers/no-subject';
    const image = await pushImage(url, repo, 'v1');
    const again = await putManifest(url, repo, 'v2', image.mediaType, image.bytes);
    expect(again.status).toBe(201);
    expect(again.headers['oci-subject']).toBeUndefined();
  });

  beyondReference(noReferrers, /^expected undefined to be 'sha256:/, 'PUT /v2/<name>/manifests/<digest> of a manifest whose subject was never pushed → 201 with OCI-Subject', async () => {
    const repo = 'referrers/absent-subject';
    const absent = descriptorOf(mediaTypes.ociManifest, '{"not":"pushed"}');
    const referrer = await pushReferrer(repo, absent, { artifactType: sbomType });
    expect(referrer.subjectHeader).toBe(absent.digest);
    const { manifests } = await referrersOf(repo, absent.digest);
    expect(manifests).toEqual([referrer.descriptor]);
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest> → 200 OCI index of every referrer\'s descriptor with artifactType and annotations', async () => {
    const repo = 'referrers/list';
    const image = await pushImage(url, repo, 'v1');
    const sbom = await pushReferrer(repo, image.descriptor, {
      artifactType: sbomType,
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    const signature = await pushReferrer(repo, image.descriptor, { artifactType: signatureType });
    const { manifests } = await referrersOf(repo, image.digest);
    expect([...manifests].sort(byDigest)).toEqual([sbom.descriptor, signature.descriptor].sort(byDigest));
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest> of a referrer without artifactType → its config media type as artifactType', async () => {
    const repo = 'referrers/config-type';
    const image = await pushImage(url, repo, 'v1');
    const referrer = await pushReferrer(repo, image.descriptor, { configMediaType: 'application/vnd.example.config.v1+json' });
    const { manifests } = await referrersOf(repo, image.digest);
    expect(manifests).toEqual([referrer.descriptor]);
    expect(manifests[0]?.artifactType).toBe('application/vnd.example.config.v1+json');
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest>?artifactType= → only that type, OCI-Filters-Applied: artifactType', async () => {
    const repo = 'referrers/filter';
    const image = await pushImage(url, repo, 'v1');
    const sbom = await pushReferrer(repo, image.descriptor, { artifactType: sbomType });
    await pushReferrer(repo, image.descriptor, { artifactType: signatureType });
    const { res, manifests } = await referrersOf(repo, image.digest, `?artifactType=${encodeURIComponent(sbomType)}`);
    expect(res.headers['oci-filters-applied']).toBe('artifactType');
    expect(manifests).toEqual([sbom.descriptor]);
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest> of a manifest nothing refers to → 200 empty OCI index', async () => {
    const repo = 'referrers/none';
    const image = await pushImage(url, repo, 'v1');
    const { res, manifests } = await referrersOf(repo, image.digest);
    expect(manifests).toEqual([]);
    expect(res.headers['oci-filters-applied']).toBeUndefined();
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest> after DELETE of the referrer → the referrer is no longer listed', async () => {
    const repo = 'referrers/deleted';
    const image = await pushImage(url, repo, 'v1');
    const doomed = await pushReferrer(repo, image.descriptor, { artifactType: sbomType });
    const kept = await pushReferrer(repo, image.descriptor, { artifactType: signatureType });
    expect((await http(url).delete(`/v2/${repo}/manifests/${doomed.descriptor.digest}`)).status).toBe(202);
    const { manifests } = await referrersOf(repo, image.digest);
    expect(manifests).toEqual([kept.descriptor]);
  });

  beyondReference(noReferrers, /^404 page not found/, 'GET /v2/<name>/referrers/<digest> in another repository → the referrers of that repository only', async () => {
    const image = await pushImage(url, 'referrers/scoped-a', 'v1');
    await pushReferrer('referrers/scoped-a', image.descriptor, { artifactType: sbomType });
    await pushImage(url, 'referrers/scoped-b', 'v1');
    const { manifests } = await referrersOf('referrers/scoped-b', image.digest);
    expect(manifests).toEqual([]);
  });

  beyondReference(noReferrers, /^404 404 page not found/, 'GET /v2/<name>/referrers/<digest> with an invalid digest → 400 DIGEST_INVALID', async () => {
    expectOciError(await http(url).get('/v2/referrers/list/referrers/sha256:xyz'), 400, 'DIGEST_INVALID');
  });
});
