import { describe, expect, it } from 'vitest';
import { MediaType, OciError } from '@berth/oci';
import { chooseManifest, defaultPlatformChild } from './manifest-negotiation';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof OciError ? error.code : 'not an OciError';
  }
  return undefined;
};

describe('chooseManifest', () => {
  const schema2Only = MediaType.DockerManifest;

  it('serves a Docker manifest list by tag to a client that does not accept lists from its linux/amd64 entry', () => {
    expect(chooseManifest(schema2Only, MediaType.DockerManifestList, true)).toBe('defaultPlatformChild');
  });

  it('serves the list itself by digest, or when the Accept names it, a wildcard, or nothing', () => {
    expect(chooseManifest(schema2Only, MediaType.DockerManifestList, false)).toBe('stored');
    for (const accept of [`${schema2Only}, ${MediaType.DockerManifestList};q=0.5`, '*/*', 'application/*', '', undefined]) {
      expect(chooseManifest(accept, MediaType.DockerManifestList, true)).toBe('stored');
    }
  });

  it('refuses OCI manifests and indexes a client does not accept, by tag or digest, with the reference\'s words', () => {
    for (const byTag of [true, false]) {
      expect(codeOf(() => chooseManifest(schema2Only, MediaType.OciManifest, byTag))).toBe('MANIFEST_UNKNOWN');
      expect(codeOf(() => chooseManifest(schema2Only, MediaType.OciIndex, byTag))).toBe('MANIFEST_UNKNOWN');
    }
    expect(() => chooseManifest(schema2Only, MediaType.OciIndex, true)).toThrow(/OCI index found, but accept header does not support OCI indexes/);
  });

  it('serves Docker schema 2 as stored whatever the Accept (never rewritten into schema 1)', () => {
    expect(chooseManifest(MediaType.DockerSchema1SignedManifest, MediaType.DockerManifest, true)).toBe('stored');
  });
});

describe('defaultPlatformChild', () => {
  const list = (manifests: unknown[]) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests }));

  it('is the first linux/amd64 entry, wherever it stands', () => {
    const entries = [
      { digest: 'sha256:arm', platform: { os: 'linux', architecture: 'arm64' } },
      { digest: 'sha256:first', platform: { os: 'linux', architecture: 'amd64' } },
      { digest: 'sha256:second', platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } },
    ];
    expect(defaultPlatformChild(list(entries))).toBe('sha256:first');
  });

  it('is MANIFEST_UNKNOWN without one, or for bytes that are not a list', () => {
    expect(codeOf(() => defaultPlatformChild(list([{ digest: 'sha256:w', platform: { os: 'windows', architecture: 'amd64' } }])))).toBe('MANIFEST_UNKNOWN');
    expect(codeOf(() => defaultPlatformChild(list([{ digest: 'sha256:none' }])))).toBe('MANIFEST_UNKNOWN');
    expect(codeOf(() => defaultPlatformChild(Buffer.from('not json')))).toBe('MANIFEST_UNKNOWN');
  });
});
