import { OciError } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { manifestBytes, media } from '../test/manifest-fixtures';
import { layerUrlPolicy, parseManifest } from './manifest-document';

const config = { mediaType: media.ociConfig, digest: `sha256:${'a'.repeat(64)}`, size: 10 };
const layer = { mediaType: media.ociLayer, digest: `sha256:${'b'.repeat(64)}`, size: 20 };
const child = { mediaType: media.ociManifest, digest: `sha256:${'c'.repeat(64)}`, size: 30 };

function refusal(run: () => unknown): OciError {
  try {
    run();
  } catch (error) {
    if (error instanceof OciError) return error;
    throw error;
  }
  throw new Error('expected an OciError');
}

describe('parseManifest', () => {
  it('classifies the four pushable types and lists what must exist', () => {
    const ociBody = manifestBytes({ schemaVersion: 2, mediaType: media.ociManifest, config, layers: [layer] });
    const oci = parseManifest(ociBody, media.ociManifest);
    expect(oci).toEqual({ mediaType: media.ociManifest, blobs: [config.digest, layer.digest], children: [] });

    const docker = parseManifest(
      manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers: [layer] }),
      media.dockerManifest,
    );
    expect(docker.mediaType).toBe(media.dockerManifest);

    const index = parseManifest(manifestBytes({ schemaVersion: 2, mediaType: media.ociIndex, manifests: [child] }), '');
    expect(index).toEqual({ mediaType: media.ociIndex, blobs: [], children: [child.digest] });

    const list = parseManifest(
      manifestBytes({ schemaVersion: 2, mediaType: media.dockerList, manifests: [child] }),
      `${media.dockerList}; charset=utf-8`,
    );
    expect(list.mediaType).toBe(media.dockerList);
  });

  it('takes an OCI manifest without mediaType from its Content-Type', () => {
    const parsed = parseManifest(manifestBytes({ schemaVersion: 2, config, layers: [] }), media.ociManifest);
    expect(parsed.mediaType).toBe(media.ociManifest);
  });

  it('refuses schema 1 by header, by mediaType and by schemaVersion, telling the user what to do', () => {
    const body = manifestBytes({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] });
    for (const run of [
      () => parseManifest(body, 'application/vnd.docker.distribution.manifest.v1+prettyjws'),
      () => parseManifest(body, 'application/vnd.docker.distribution.manifest.v1+json'),
      () => parseManifest(body, ''),
    ]) {
      const error = refusal(run);
      expect(error.code).toBe('MANIFEST_INVALID');
      expect(String(error.detail)).toMatch(/schema 1 is deprecated and not supported.*current client/);
    }
  });

  it('refuses malformed JSON with the parser message as detail', () => {
    const error = refusal(() => parseManifest(Buffer.from('{"schemaVersion": 2,'), media.ociManifest));
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(String(error.detail)).toMatch(/JSON/);
  });

  it('refuses a Content-Type that disagrees with the body', () => {
    const body = manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers: [] });
    expect(refusal(() => parseManifest(body, media.ociManifest)).code).toBe('MANIFEST_INVALID');
  });

  it('refuses an index sent as a manifest and bad descriptors', () => {
    const indexAsManifest = manifestBytes({ schemaVersion: 2, config, layers: [], manifests: [child] });
    expect(refusal(() => parseManifest(indexAsManifest, media.ociManifest)).detail).toMatch(/found index/);
    const badDigest = manifestBytes({ schemaVersion: 2, config: { ...config, digest: 'sha256:nothex' }, layers: [] });
    expect(refusal(() => parseManifest(badDigest, media.ociManifest)).detail).toMatch(/^config\.digest: /);
    const noLayers = manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config });
    expect(refusal(() => parseManifest(noLayers, media.dockerManifest)).code).toBe('MANIFEST_INVALID');
  });

  it('leaves layers with urls out of the blobs to check, but checks their urls', () => {
    const foreign = {
      ...layer,
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      urls: ['https://example.com/l'],
    };
    const body = manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers: [foreign] });
    expect(parseManifest(body, media.dockerManifest).blobs).toEqual([config.digest]);

    const noUrls = { ...foreign, urls: [] };
    const missing = manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers: [noUrls] });
    expect(refusal(() => parseManifest(missing, media.dockerManifest)).detail).toMatch(/no urls/);
    const ftp = { ...foreign, urls: ['ftp://example.com/l'] };
    const badUrl = manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers: [ftp] });
    expect(refusal(() => parseManifest(badUrl, media.dockerManifest)).detail).toMatch(/invalid url/);
  });

  it('keeps the subject of OCI manifests only', () => {
    const withSubject = { schemaVersion: 2, config, layers: [], subject: child };
    expect(parseManifest(manifestBytes({ ...withSubject, mediaType: media.ociManifest }), '').subject).toEqual(child.digest);
    expect(parseManifest(manifestBytes({ ...withSubject, mediaType: media.dockerManifest }), '').subject).toBeUndefined();
  });
});

describe('layerUrlPolicy', () => {
  it('applies validation.manifests.urls allow and deny patterns to layer urls', () => {
    const policy = layerUrlPolicy({ allow: ['^https://mirror\\.example\\.com/'], deny: ['/secret/'] });
    const body = (url: string) =>
      manifestBytes({
        schemaVersion: 2,
        mediaType: media.ociManifest,
        config,
        layers: [{ ...layer, urls: [url] }],
      });
    expect(parseManifest(body('https://mirror.example.com/l'), '', policy).blobs).toEqual([config.digest]);
    expect(refusal(() => parseManifest(body('https://other.example.com/l'), '', policy)).detail).toMatch(/invalid url/);
    const denied = refusal(() => parseManifest(body('https://mirror.example.com/secret/l'), '', policy));
    expect(denied.detail).toMatch(/invalid url/);
    const open = layerUrlPolicy({ allow: [], deny: [] });
    expect(parseManifest(body('https://anywhere.example.com/l'), '', open).blobs).toEqual([config.digest]);
  });
});
