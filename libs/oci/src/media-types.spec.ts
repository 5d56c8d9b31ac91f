import { describe, expect, it } from 'vitest';
import { digestOf } from './digest';
import { OciError } from './errors/oci-error';
import { classifyManifest, essenceOf, MediaType, OCI_EMPTY_DESCRIPTOR, parseManifestJson } from './media-types';

const config = { mediaType: MediaType.OciConfig, digest: 'sha256:' + 'a'.repeat(64), size: 2 };
const ociImage = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [] };
const ociIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
const dockerImage = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config, layers: [] };
const dockerList = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [] };

function problemOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof OciError && error.code === 'MANIFEST_INVALID') return String(error.detail);
    throw error;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('classifyManifest', () => {
  it.each([
    [MediaType.OciManifest, ociImage, 'image', 'oci'],
    [MediaType.OciIndex, ociIndex, 'index', 'oci'],
    [MediaType.DockerManifest, dockerImage, 'image', 'docker'],
    [MediaType.DockerManifestList, dockerList, 'index', 'docker'],
  ])('knows %s when header and body agree', (type, body, kind, format) => {
    expect(classifyManifest(type, body)).toEqual({ mediaType: type, kind, format });
  });

  it('ignores parameters and case on the Content-Type', () => {
    expect(classifyManifest(`${MediaType.OciManifest.toUpperCase()}; charset=utf-8`, ociImage).mediaType).toBe(MediaType.OciManifest);
  });

  it('lets OCI manifests and indexes omit mediaType when the header names them', () => {
    const { mediaType: _image, ...bareImage } = ociImage;
    const { mediaType: _index, ...bareIndex } = ociIndex;
    expect(classifyManifest(MediaType.OciManifest, bareImage).kind).toBe('image');
    expect(classifyManifest(MediaType.OciIndex, bareIndex).kind).toBe('index');
  });

  it('requires Docker schema 2 manifests to carry their mediaType', () => {
    const { mediaType: _dropped, ...bare } = dockerImage;
    expect(problemOf(() => classifyManifest(MediaType.DockerManifest, bare))).toMatch(/must carry/);
  });

  it('takes the body\'s mediaType when the header is absent or generic', () => {
    expect(classifyManifest(undefined, ociImage).mediaType).toBe(MediaType.OciManifest);
    expect(classifyManifest('application/json', dockerList).mediaType).toBe(MediaType.DockerManifestList);
    expect(classifyManifest('application/octet-stream', ociIndex).mediaType).toBe(MediaType.OciIndex);
  });

  it('refuses a body whose mediaType disagrees with the header', () => {
    expect(problemOf(() => classifyManifest(MediaType.DockerManifest, ociImage))).toMatch(/does not match the Content-Type/);
  });

  it('refuses a manifest that names no media type at all', () => {
    const { mediaType: _dropped, ...bare } = ociImage;
    expect(problemOf(() => classifyManifest(undefined, bare))).toMatch(/names no media type/);
  });

  it.each([
    ['signed schema 1 header', MediaType.DockerSchema1SignedManifest, { schemaVersion: 1, name: 'x', tag: 'y' }],
    ['unsigned schema 1 header', MediaType.DockerSchema1Manifest, { schemaVersion: 1 }],
    ['schema 1 body without a header', undefined, { schemaVersion: 1, name: 'x', fsLayers: [] }],
    ['schema 1 mediaType in the body', undefined, { mediaType: MediaType.DockerSchema1Manifest }],
  ])('refuses schema 1 (%s) with the reference\'s detail', (_why, header, body) => {
    expect(problemOf(() => classifyManifest(header, body))).toBe('manifest type unsupported');
  });

  it('refuses types that are not manifests', () => {
    expect(problemOf(() => classifyManifest(MediaType.OciConfig, { schemaVersion: 2 }))).toMatch(/unsupported manifest media type/);
    expect(problemOf(() => classifyManifest('text/plain', { schemaVersion: 2, mediaType: 'text/plain' }))).toMatch(/unsupported/);
  });

  it('refuses a body whose shape does not fit its type', () => {
    expect(problemOf(() => classifyManifest(MediaType.OciManifest, { ...ociImage, schemaVersion: 3 }))).toMatch(/schemaVersion/);
    expect(problemOf(() => classifyManifest(MediaType.OciManifest, { schemaVersion: 2, manifests: [] }))).toMatch(/config/);
    expect(problemOf(() => classifyManifest(MediaType.OciIndex, { schemaVersion: 2, config }))).toMatch(/manifests/);
    expect(problemOf(() => classifyManifest(undefined, { ...ociImage, mediaType: 7 }))).toMatch(/not a string/);
  });
});

describe('parseManifestJson', () => {
  it('parses an object from bytes or text', () => {
    expect(parseManifestJson(Buffer.from(JSON.stringify(ociImage)))).toEqual(ociImage);
    expect(parseManifestJson('{"schemaVersion":2}')).toEqual({ schemaVersion: 2 });
  });

  it.each(['', '{', '[]', 'null', '"manifest"', '42'])('refuses %j with MANIFEST_INVALID', (text) => {
    expect(problemOf(() => parseManifestJson(text))).toMatch(/not JSON|not a JSON object/);
  });
});

describe('media types', () => {
  it('essenceOf drops parameters and lower-cases', () => {
    expect(essenceOf('Application/JSON ; charset=utf-8')).toBe('application/json');
    expect(essenceOf(undefined)).toBe('');
  });

  it('the OCI empty descriptor describes the bytes "{}"', () => {
    const bytes = Buffer.from(OCI_EMPTY_DESCRIPTOR.data, 'base64');
    expect(bytes.toString()).toBe('{}');
    expect(OCI_EMPTY_DESCRIPTOR.size).toBe(bytes.length);
    expect(digestOf(bytes)).toBe(OCI_EMPTY_DESCRIPTOR.digest);
  });
});
