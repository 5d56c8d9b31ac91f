import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DynamicModule, type INestMicroservice, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InProcessBus, InProcessClient, InProcessServer, NestMessageClient } from '@berth/bus';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { type ManifestMessages, ManifestPattern } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { createStorageDriver, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { createTempDir, type TempDir } from '@berth/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Descriptor,
  descriptorOf,
  dockerList,
  dockerManifest,
  manifestBytes,
  media,
  ociIndex,
  ociManifest,
  pushBlob,
  pushImageBlobs,
  sha256,
  testConfig,
} from '../test/manifest-fixtures';
import { ManifestModule } from './index';

/** What the composition root provides: the validated config and the one storage driver. */
@Module({})
class TestRuntimeModule {
  static forRoot(config: BerthConfig, driver: StorageDriver): DynamicModule {
    return {
      module: TestRuntimeModule,
      global: true,
      providers: [
        { provide: BERTH_CONFIG, useValue: config },
        { provide: STORAGE_DRIVER, useValue: driver },
      ],
      exports: [BERTH_CONFIG, STORAGE_DRIVER],
    };
  }
}

interface Service {
  client: NestMessageClient<ManifestMessages>;
  driver: StorageDriver;
  close(): Promise<void>;
}

/** The manifest service as the gateway reaches it: its module on the in-process bus, called through a typed client. */
async function startService(driver: StorageDriver, config: BerthConfig = testConfig()): Promise<Service> {
  const bus = new InProcessBus();
  const moduleRef = await Test.createTestingModule({
    imports: [TestRuntimeModule.forRoot(config, driver), ManifestModule],
  }).compile();
  const service: INestMicroservice = moduleRef.createNestMicroservice({ strategy: new InProcessServer(bus) });
  await service.listen();
  const client = new NestMessageClient<ManifestMessages>(new InProcessClient(bus));
  return { client, driver, close: () => service.close() };
}

async function failure(promise: Promise<unknown>): Promise<OciError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OciError);
    return error as OciError;
  }
  throw new Error('expected the message to fail');
}

const b64 = (content: Buffer): string => content.toString('base64');

describe('manifest service over the message bus (inmemory driver)', () => {
  let service: Service;
  let client: Service['client'];
  let driver: StorageDriver;

  beforeEach(async () => {
    service = await startService(createStorageDriver('inmemory', {}));
    ({ client, driver } = service);
  });
  afterEach(async () => {
    await service.close();
  });

  async function put(repository: string, reference: string, content: Buffer, contentType: string) {
    return client.send(ManifestPattern.Put, { repository, reference, contentType, content: b64(content) });
  }

  async function pushImage(repository: string, seed: string, tag?: string): Promise<Descriptor> {
    const { config, layers } = await pushImageBlobs(driver, repository, seed, 'oci');
    const content = ociManifest(config, layers);
    const descriptor = descriptorOf(media.ociManifest, content);
    await put(repository, tag ?? descriptor.digest, content, media.ociManifest);
    return descriptor;
  }

  describe('put and get', () => {
    it('stores each of the four media types byte for byte, by tag and by digest', async () => {
      const docker = await pushImageBlobs(driver, 'app', 'docker', 'docker');
      const oci = await pushImageBlobs(driver, 'app', 'oci', 'oci');
      const dockerBytes = dockerManifest(docker.config, docker.layers);
      const ociBytes = ociManifest(oci.config, oci.layers);
      await put('app', 'docker', dockerBytes, media.dockerManifest);
      await put('app', 'oci', ociBytes, media.ociManifest);
      const children = [
        { ...descriptorOf(media.dockerManifest, dockerBytes), platform: { architecture: 'amd64', os: 'linux' } },
      ];
      const listBytes = dockerList(children);
      const indexBytes = ociIndex([descriptorOf(media.ociManifest, ociBytes)]);
      await put('app', 'list', listBytes, media.dockerList);
      await put('app', 'index', indexBytes, media.ociIndex);

      for (const [tag, content, mediaType] of [
        ['docker', dockerBytes, media.dockerManifest],
        ['oci', ociBytes, media.ociManifest],
        ['list', listBytes, media.dockerList],
        ['index', indexBytes, media.ociIndex],
      ] as const) {
        const byTag = await client.send(ManifestPattern.Get, { repository: 'app', reference: tag, withContent: true });
        expect(byTag).toEqual({ digest: sha256(content), mediaType, size: content.length, content: b64(content) });
        const byDigest = await client.send(ManifestPattern.Get, {
          repository: 'app',
          reference: sha256(content),
          withContent: false,
        });
        expect(byDigest).toEqual({ digest: sha256(content), mediaType, size: content.length });
      }
    });

    it('keeps whitespace and key order exactly as pushed', async () => {
      const { config, layers } = await pushImageBlobs(driver, 'app', 'ws', 'oci');
      const odd = Buffer.from(
        `{\n\t"layers" : ${JSON.stringify(layers)},  "config":${JSON.stringify(config)},\r\n` +
          ` "schemaVersion":2 ,"mediaType":"${media.ociManifest}"   }\n\n`,
      );
      const reply = await put('app', 'ws', odd, media.ociManifest);
      expect(reply.digest).toBe(sha256(odd));
      const got = await client.send(ManifestPattern.Get, { repository: 'app', reference: 'ws', withContent: true });
      expect(Buffer.from(got.content ?? '', 'base64').equals(odd)).toBe(true);
    });

    it('classifies an OCI manifest pushed without mediaType by its shape when read', async () => {
      const { config, layers } = await pushImageBlobs(driver, 'app', 'bare', 'oci');
      const bare = ociManifest(config, layers, { withMediaType: false });
      await put('app', 'bare', bare, media.ociManifest);
      const got = await client.send(ManifestPattern.Get, { repository: 'app', reference: 'bare', withContent: false });
      expect(got.mediaType).toBe(media.ociManifest);
    });

    it('refuses schema 1 manifests', async () => {
      await pushBlob(driver, 'app', 'x', media.dockerLayer);
      const schema1 = manifestBytes({ schemaVersion: 1, name: 'app', tag: 'old', architecture: 'amd64', fsLayers: [] });
      const error = await failure(put('app', 'old', schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws'));
      expect(error.code).toBe('MANIFEST_INVALID');
      expect(String(error.detail)).toMatch(/schema 1 is deprecated and not supported/);
    });

    it('refuses malformed JSON with the parse error', async () => {
      const error = await failure(put('app', 'bad', Buffer.from('{"schemaVersion":2'), media.ociManifest));
      expect(error.code).toBe('MANIFEST_INVALID');
      expect(String(error.detail)).toMatch(/JSON/);
    });

    it('refuses a Content-Type that disagrees with the body', async () => {
      const { config, layers } = await pushImageBlobs(driver, 'app', 'ct', 'docker');
      const error = await failure(put('app', 'ct', dockerManifest(config, layers), media.ociManifest));
      expect(error.code).toBe('MANIFEST_INVALID');
    });

    it('refuses a manifest whose blob is not linked in the repository, naming it, and writes nothing', async () => {
      const { config } = await pushImageBlobs(driver, 'app', 'missing', 'oci');
      const absent = { mediaType: media.ociLayer, digest: sha256('never pushed'), size: 12 };
      // Linked in another repository only: not visible here.
      await pushBlob(driver, 'other', 'elsewhere', media.ociLayer);
      const elsewhere = { mediaType: media.ociLayer, digest: sha256('elsewhere'), size: 9 };
      for (const layer of [absent, elsewhere]) {
        const content = ociManifest(config, [layer]);
        const error = await failure(put('app', 'missing', content, media.ociManifest));
        expect(error.code).toBe('MANIFEST_BLOB_UNKNOWN');
        expect(error.detail).toEqual({ digest: layer.digest });
        const get = client.send(ManifestPattern.Get, { repository: 'app', reference: sha256(content), withContent: false });
        expect((await failure(get)).code).toBe('MANIFEST_UNKNOWN');
      }
      const tags = await failure(client.send(ManifestPattern.ListTags, { repository: 'app' }));
      expect(tags.code).toBe('NAME_UNKNOWN');
    });

    it('refuses an index whose child manifest is not in the repository', async () => {
      const child = await pushImage('other', 'child');
      const error = await failure(put('app', 'index', ociIndex([child]), media.ociIndex));
      expect(error.code).toBe('MANIFEST_BLOB_UNKNOWN');
      expect(error.detail).toEqual({ digest: child.digest });
    });

    it('refuses a digest reference that is not the content digest', async () => {
      const { config, layers } = await pushImageBlobs(driver, 'app', 'dg', 'oci');
      const content = ociManifest(config, layers);
      const error = await failure(put('app', sha256('something else'), content, media.ociManifest));
      expect(error.code).toBe('DIGEST_INVALID');
      const reply = await put('app', sha256(content), content, media.ociManifest);
      expect(reply).toEqual({ digest: sha256(content) });
    });

    it('refuses a body over 4 MiB', async () => {
      const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
      const error = await failure(put('app', 'big', big, media.ociManifest));
      expect(error.code).toBe('SIZE_INVALID');
      expect(error.status).toBe(413);
    });

    it('answers NAME_UNKNOWN for an unknown repository, MANIFEST_UNKNOWN for a missing tag or digest', async () => {
      const noRepo = client.send(ManifestPattern.Get, { repository: 'nothing', reference: 'latest', withContent: true });
      expect((await failure(noRepo)).code).toBe('NAME_UNKNOWN');
      await pushImage('app', 'present', 'present');
      const noTag = client.send(ManifestPattern.Get, { repository: 'app', reference: 'absent', withContent: true });
      expect((await failure(noTag)).code).toBe('MANIFEST_UNKNOWN');
      const noDigest = client.send(ManifestPattern.Get, { repository: 'app', reference: sha256('x'), withContent: true });
      expect((await failure(noDigest)).code).toBe('MANIFEST_UNKNOWN');
    });

    it('moves a tag with the next put and remembers both in its index', async () => {
      const first = await pushImage('app', 'one', 'latest');
      const second = await pushImage('app', 'two', 'latest');
      const got = await client.send(ManifestPattern.Get, { repository: 'app', reference: 'latest', withContent: false });
      expect(got.digest).toBe(second.digest);
      const index = await driver.list('/docker/registry/v2/repositories/app/_manifests/tags/latest/index/sha256');
      expect(index.map((path) => `sha256:${path.split('/').pop()}`).sort()).toEqual([first.digest, second.digest].sort());
      // The first revision stays reachable by digest.
      const old = await client.send(ManifestPattern.Get, { repository: 'app', reference: first.digest, withContent: false });
      expect(old.digest).toBe(first.digest);
    });

    it('returns the subject of an OCI manifest that has one', async () => {
      const subject = await pushImage('app', 'subject', 'v1');
      const empty = await pushBlob(driver, 'app', '{}', media.ociEmpty);
      const layer = await pushBlob(driver, 'app', 'signature', 'application/vnd.example.signature');
      const content = ociManifest(empty, [layer], { subject, artifactType: 'application/vnd.example.signature' });
      const reply = await put('app', sha256(content), content, media.ociManifest);
      expect(reply).toEqual({ digest: sha256(content), subject: subject.digest });
    });
  });

  describe('delete', () => {
    it('untags only when given a tag', async () => {
      const image = await pushImage('app', 'img', 'v1');
      await client.send(ManifestPattern.Delete, { repository: 'app', reference: 'v1' });
      const byTag = client.send(ManifestPattern.Get, { repository: 'app', reference: 'v1', withContent: false });
      expect((await failure(byTag)).code).toBe('MANIFEST_UNKNOWN');
      const byDigest = await client.send(ManifestPattern.Get, {
        repository: 'app',
        reference: image.digest,
        withContent: false,
      });
      expect(byDigest.digest).toBe(image.digest);
      const again = client.send(ManifestPattern.Delete, { repository: 'app', reference: 'v1' });
      expect((await failure(again)).code).toBe('MANIFEST_UNKNOWN');
    });

    it('removes the revision and every tag pointing at it when given a digest', async () => {
      const image = await pushImage('app', 'img', 'v1');
      await put('app', 'v2', ociManifestOf(await blobsOf('img')), media.ociManifest);
      const other = await pushImage('app', 'other', 'keep');
      await client.send(ManifestPattern.Delete, { repository: 'app', reference: image.digest });
      for (const reference of ['v1', 'v2', image.digest]) {
        const get = client.send(ManifestPattern.Get, { repository: 'app', reference, withContent: false });
        expect((await failure(get)).code).toBe('MANIFEST_UNKNOWN');
      }
      expect((await client.send(ManifestPattern.ListTags, { repository: 'app' })).tags).toEqual(['keep']);
      const kept = await client.send(ManifestPattern.Get, { repository: 'app', reference: 'keep', withContent: false });
      expect(kept.digest).toBe(other.digest);
      const again = client.send(ManifestPattern.Delete, { repository: 'app', reference: image.digest });
      expect((await failure(again)).code).toBe('MANIFEST_UNKNOWN');
    });

    it('is UNSUPPORTED while storage.delete.enabled is off', async () => {
      const readOnly = await startService(createStorageDriver('inmemory', {}), testConfig({ deleteEnabled: false }));
      try {
        const error = await failure(readOnly.client.send(ManifestPattern.Delete, { repository: 'app', reference: 'v1' }));
        expect(error.code).toBe('UNSUPPORTED');
      } finally {
        await readOnly.close();
      }
    });

    // Helpers for a second manifest with the same blobs as `seed` (the same bytes, so the same digest).
    async function blobsOf(seed: string) {
      return pushImageBlobs(driver, 'app', seed, 'oci');
    }
    function ociManifestOf(blobs: { config: Descriptor; layers: Descriptor[] }) {
      return ociManifest(blobs.config, blobs.layers);
    }
  });

  describe('tags and catalog', () => {
    it('lists tags sorted and paginated with n and last', async () => {
      const image = await pushImage('app', 'img');
      const got = await client.send(ManifestPattern.Get, { repository: 'app', reference: image.digest, withContent: true });
      const content = Buffer.from(got.content ?? '', 'base64');
      for (const tag of ['v2', 'latest', 'v10', 'A', 'v1']) await put('app', tag, content, media.ociManifest);
      const all = await client.send(ManifestPattern.ListTags, { repository: 'app' });
      expect(all).toEqual({ name: 'app', tags: ['A', 'latest', 'v1', 'v10', 'v2'], more: false });
      const first = await client.send(ManifestPattern.ListTags, { repository: 'app', n: 2 });
      expect(first).toEqual({ name: 'app', tags: ['A', 'latest'], more: true });
      const next = await client.send(ManifestPattern.ListTags, { repository: 'app', n: 2, last: 'latest' });
      expect(next).toEqual({ name: 'app', tags: ['v1', 'v10'], more: true });
      const end = await client.send(ManifestPattern.ListTags, { repository: 'app', n: 2, last: 'v10' });
      expect(end).toEqual({ name: 'app', tags: ['v2'], more: false });
      const unknown = client.send(ManifestPattern.ListTags, { repository: 'nothing' });
      expect((await failure(unknown)).code).toBe('NAME_UNKNOWN');
    });

    it('lists every repository, nested names included, in the reference order, paginated', async () => {
      for (const name of ['b', 'a/b/c', 'a', 'a-b', 'a/b', 'library/ubuntu']) await pushImage(name, 'img', 'latest');
      // Blobs alone make a repository, as `_layers` does for the reference.
      await pushBlob(driver, 'only/layers', 'x', media.ociLayer);
      const all = await client.send(ManifestPattern.Catalog, {});
      const expected = ['a', 'a/b', 'a/b/c', 'a-b', 'b', 'library/ubuntu', 'only/layers'];
      expect(all).toEqual({ repositories: expected, more: false });
      const pages: string[] = [];
      let last: string | undefined;
      for (;;) {
        const page = await client.send(ManifestPattern.Catalog, { n: 2, ...(last ? { last } : {}) });
        pages.push(...page.repositories);
        expect(page.repositories.length).toBeLessThanOrEqual(2);
        if (!page.more) break;
        last = page.repositories.at(-1);
      }
      expect(pages).toEqual(expected);
    });

    it('caps n at catalog.maxentries', async () => {
      const capped = await startService(createStorageDriver('inmemory', {}), testConfig({ maxEntries: 2 }));
      try {
        for (const name of ['x', 'y', 'z']) await pushBlob(capped.driver, name, name, media.ociLayer);
        const page = await capped.client.send(ManifestPattern.Catalog, { n: 100 });
        expect(page).toEqual({ repositories: ['x', 'y'], more: true });
      } finally {
        await capped.close();
      }
    });
  });

  describe('referrers', () => {
    it('lists the manifests whose subject is the digest, filtered by artifactType on request', async () => {
      const subject = await pushImage('app', 'subject', 'v1');
      const empty = await pushBlob(driver, 'app', '{}', media.ociEmpty);
      const sig = await pushBlob(driver, 'app', 'sig', 'application/vnd.example.sig');
      const sbomConfig = await pushBlob(driver, 'app', '{"sbom":true}', 'application/vnd.example.sbom');
      const signature = ociManifest(empty, [sig], {
        subject,
        artifactType: 'application/vnd.example.signature',
        annotations: { 'org.example.signed-by': 'me' },
      });
      const sbom = ociManifest(sbomConfig, [sig], { subject });
      const indexReferrer = ociIndex([], { subject, artifactType: 'application/vnd.example.bundle' });
      await put('app', sha256(signature), signature, media.ociManifest);
      await put('app', sha256(sbom), sbom, media.ociManifest);
      await put('app', sha256(indexReferrer), indexReferrer, media.ociIndex);
      // Unrelated manifests are no referrers.
      await pushImage('app', 'unrelated', 'v2');

      const all = await client.send(ManifestPattern.Referrers, { repository: 'app', digest: subject.digest });
      expect(all.filtersApplied).toEqual([]);
      const expected = [
        {
          mediaType: media.ociManifest,
          digest: sha256(signature),
          size: signature.length,
          artifactType: 'application/vnd.example.signature',
          annotations: { 'org.example.signed-by': 'me' },
        },
        {
          mediaType: media.ociManifest,
          digest: sha256(sbom),
          size: sbom.length,
          artifactType: 'application/vnd.example.sbom',
        },
        {
          mediaType: media.ociIndex,
          digest: sha256(indexReferrer),
          size: indexReferrer.length,
          artifactType: 'application/vnd.example.bundle',
        },
      ].sort((a, b) => (a.digest < b.digest ? -1 : 1));
      expect(all.index).toEqual({ schemaVersion: 2, mediaType: media.ociIndex, manifests: expected });

      const filtered = await client.send(ManifestPattern.Referrers, {
        repository: 'app',
        digest: subject.digest,
        artifactType: 'application/vnd.example.sbom',
      });
      expect(filtered.filtersApplied).toEqual(['artifactType']);
      expect(filtered.index.manifests).toEqual([expected.find((entry) => entry.digest === sha256(sbom))]);

      // A deleted referrer is gone from the list.
      await client.send(ManifestPattern.Delete, { repository: 'app', reference: sha256(sbom) });
      const after = await client.send(ManifestPattern.Referrers, { repository: 'app', digest: subject.digest });
      expect(after.index.manifests.map((entry) => entry.digest)).not.toContain(sha256(sbom));
      expect(after.index.manifests).toHaveLength(2);
    });

    it('answers an empty index for a digest without referrers and for an unknown repository', async () => {
      await pushImage('app', 'lonely', 'v1');
      const emptyIndex = { schemaVersion: 2, mediaType: media.ociIndex, manifests: [] };
      for (const repository of ['app', 'nothing']) {
        const reply = await client.send(ManifestPattern.Referrers, { repository, digest: sha256('no referrers') });
        expect(reply).toEqual({ index: emptyIndex, filtersApplied: [] });
      }
    });
  });
});

describe('manifest service on the filesystem driver', () => {
  let dir: TempDir;
  let service: Service;

  beforeEach(async () => {
    dir = await createTempDir('berth-manifest-');
    service = await startService(createStorageDriver('filesystem', { rootdirectory: dir.path }));
  });
  afterEach(async () => {
    await service.close();
    await dir.remove();
  });

  it('writes the reference layout: blob data, revision link, tag index link and current link', async () => {
    const { config, layers } = await pushImageBlobs(service.driver, 'library/app', 'fs', 'docker');
    const content = dockerManifest(config, layers);
    const digest = sha256(content);
    const hex = digest.slice('sha256:'.length);
    await service.client.send(ManifestPattern.Put, {
      repository: 'library/app',
      reference: 'latest',
      contentType: media.dockerManifest,
      content: b64(content),
    });

    const root = join(dir.path, 'docker/registry/v2');
    const repo = join(root, 'repositories/library/app/_manifests');
    expect((await readFile(join(root, 'blobs/sha256', hex.slice(0, 2), hex, 'data'))).equals(content)).toBe(true);
    expect(await readFile(join(repo, 'revisions/sha256', hex, 'link'), 'utf8')).toBe(digest);
    expect(await readFile(join(repo, 'tags/latest/index/sha256', hex, 'link'), 'utf8')).toBe(digest);
    expect(await readFile(join(repo, 'tags/latest/current/link'), 'utf8')).toBe(digest);

    const got = await service.client.send(ManifestPattern.Get, {
      repository: 'library/app',
      reference: 'latest',
      withContent: true,
    });
    expect(Buffer.from(got.content ?? '', 'base64').equals(content)).toBe(true);
    expect(await service.client.send(ManifestPattern.Catalog, {})).toEqual({ repositories: ['library/app'], more: false });
  });
});
