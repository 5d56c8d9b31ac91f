import { pathFor, RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '@berth/oci';
import { type Descriptor, descriptorOf, media, ociIndex, ociManifest, sha256 } from '../test/manifest-fixtures';
import { ManifestReader } from './manifest-reader.service';
import { ReferrersService } from './referrers.service';

const subject: Descriptor = { mediaType: media.ociManifest, digest: sha256('subject'), size: 7 };
const config: Descriptor = { mediaType: 'application/vnd.example.config', digest: sha256('config'), size: 6 };
const empty: Descriptor = { mediaType: media.ociEmpty, digest: sha256('{}'), size: 2 };

describe('ReferrersService', () => {
  let driver: StorageDriver;
  let referrers: ReferrersService;

  beforeEach(() => {
    driver = createStorageDriver('inmemory', {});
    const storage = new RegistryStorage(driver);
    referrers = new ReferrersService(storage, new ManifestReader(storage));
  });

  /** A revision as the manifest store leaves it: bytes in the blob store, a revision link. */
  async function storeRevision(repository: string, content: Buffer): Promise<Digest> {
    const digest = sha256(content);
    await driver.putContent(pathFor({ kind: 'blobData', digest }), content);
    await driver.putContent(pathFor({ kind: 'manifestRevisionLink', repository, digest }), Buffer.from(digest));
    return digest;
  }

  it('reports artifactType, else the config media type, and annotations', async () => {
    const typed = ociManifest(empty, [], { subject, artifactType: 'application/vnd.example.sig', annotations: { a: 'b' } });
    const untyped = ociManifest(config, [], { subject });
    await storeRevision('app', typed);
    await storeRevision('app', untyped);
    await storeRevision('app', ociManifest(config, []));
    const reply = await referrers.list({ repository: 'app', digest: subject.digest });
    const manifests = reply.index.manifests;
    expect(manifests).toHaveLength(2);
    expect(manifests).toContainEqual({
      ...descriptorOf(media.ociManifest, typed),
      artifactType: 'application/vnd.example.sig',
      annotations: { a: 'b' },
    });
    expect(manifests).toContainEqual({ ...descriptorOf(media.ociManifest, untyped), artifactType: config.mediaType });
  });

  it('filters by artifactType and says so', async () => {
    await storeRevision('app', ociManifest(config, [], { subject }));
    const bundle = ociIndex([], { subject, artifactType: 'application/vnd.example.bundle' });
    await storeRevision('app', bundle);
    const artifactType = 'application/vnd.example.bundle';
    const reply = await referrers.list({ repository: 'app', digest: subject.digest, artifactType });
    expect(reply).toEqual({
      index: {
        schemaVersion: 2,
        mediaType: media.ociIndex,
        manifests: [{ ...descriptorOf(media.ociIndex, bundle), artifactType: 'application/vnd.example.bundle' }],
      },
      filtersApplied: ['artifactType'],
    });
  });

  it('forgets a revision whose link was deleted, even with its summary cached and its directory left', async () => {
    const digest = await storeRevision('app', ociManifest(config, [], { subject }));
    expect((await referrers.list({ repository: 'app', digest: subject.digest })).index.manifests).toHaveLength(1);
    await driver.delete(pathFor({ kind: 'manifestRevisionLink', repository: 'app', digest }));
    expect((await referrers.list({ repository: 'app', digest: subject.digest })).index.manifests).toEqual([]);
  });

  it('skips a revision whose bytes are gone from the blob store', async () => {
    const digest = await storeRevision('app', ociManifest(config, [], { subject }));
    await driver.delete(pathFor({ kind: 'blobData', digest }));
    expect((await referrers.list({ repository: 'app', digest: subject.digest })).index.manifests).toEqual([]);
  });

  it('answers an empty index for unknown and for invalid repository names', async () => {
    for (const repository of ['nothing', 'Not/Valid']) {
      const reply = await referrers.list({ repository, digest: subject.digest });
      expect(reply).toEqual({ index: { schemaVersion: 2, mediaType: media.ociIndex, manifests: [] }, filtersApplied: [] });
    }
  });
});
