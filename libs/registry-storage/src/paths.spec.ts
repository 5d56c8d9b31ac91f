import { describe, expect, it } from 'vitest';
import { OciError } from '@berth/oci';
import { pathFor, type PathSpec, repositoryNameFromPath } from './paths';

const HEX256 = 'abcd' + '0123456789abcdef'.repeat(3) + '012345678901';
const SHA256 = `sha256:${HEX256}`;
const HEX512 = 'f0'.repeat(64);
const SHA512 = `sha512:${HEX512}`;
const R = '/docker/registry/v2';
const REPO = `${R}/repositories/library/ubuntu`;
const ID = '6f1c2b1e-5d55-4b0e-9a0e-1b2c3d4e5f60';

describe('pathFor', () => {
  it('has a 64-character test digest', () => {
    expect(HEX256).toHaveLength(64);
  });

  it.each<[PathSpec, string]>([
    [{ kind: 'blobsRoot' }, `${R}/blobs`],
    [{ kind: 'blobDir', digest: SHA256 }, `${R}/blobs/sha256/ab/${HEX256}`],
    [{ kind: 'blobData', digest: SHA256 }, `${R}/blobs/sha256/ab/${HEX256}/data`],
    [{ kind: 'blobData', digest: SHA512 }, `${R}/blobs/sha512/f0/${HEX512}/data`],
    [{ kind: 'repositoriesRoot' }, `${R}/repositories`],
    [{ kind: 'repositoryDir', repository: 'library/ubuntu' }, REPO],
    [{ kind: 'layersDir', repository: 'library/ubuntu' }, `${REPO}/_layers`],
    [{ kind: 'layerLink', repository: 'library/ubuntu', digest: SHA256 }, `${REPO}/_layers/sha256/${HEX256}/link`],
    [{ kind: 'layerLink', repository: 'library/ubuntu', digest: SHA512 }, `${REPO}/_layers/sha512/${HEX512}/link`],
    [{ kind: 'manifestRevisionsDir', repository: 'library/ubuntu' }, `${REPO}/_manifests/revisions`],
    [{ kind: 'manifestRevisionDir', repository: 'library/ubuntu', digest: SHA256 }, `${REPO}/_manifests/revisions/sha256/${HEX256}`],
    [
      { kind: 'manifestRevisionLink', repository: 'library/ubuntu', digest: SHA256 },
      `${REPO}/_manifests/revisions/sha256/${HEX256}/link`,
    ],
    [
      { kind: 'manifestRevisionLink', repository: 'library/ubuntu', digest: SHA512 },
      `${REPO}/_manifests/revisions/sha512/${HEX512}/link`,
    ],
    [{ kind: 'manifestTagsDir', repository: 'library/ubuntu' }, `${REPO}/_manifests/tags`],
    [{ kind: 'manifestTagDir', repository: 'library/ubuntu', tag: 'latest' }, `${REPO}/_manifests/tags/latest`],
    [{ kind: 'manifestTagCurrentLink', repository: 'library/ubuntu', tag: 'latest' }, `${REPO}/_manifests/tags/latest/current/link`],
    [{ kind: 'manifestTagIndexDir', repository: 'library/ubuntu', tag: 'latest' }, `${REPO}/_manifests/tags/latest/index`],
    [
      { kind: 'manifestTagIndexEntryLink', repository: 'library/ubuntu', tag: 'latest', digest: SHA256 },
      `${REPO}/_manifests/tags/latest/index/sha256/${HEX256}/link`,
    ],
    [
      { kind: 'manifestTagIndexEntryLink', repository: 'library/ubuntu', tag: 'v1.0', digest: SHA512 },
      `${REPO}/_manifests/tags/v1.0/index/sha512/${HEX512}/link`,
    ],
    [{ kind: 'uploadsDir', repository: 'library/ubuntu' }, `${REPO}/_uploads`],
    [{ kind: 'uploadDir', repository: 'library/ubuntu', id: ID }, `${REPO}/_uploads/${ID}`],
    [{ kind: 'uploadData', repository: 'library/ubuntu', id: ID }, `${REPO}/_uploads/${ID}/data`],
    [{ kind: 'uploadStartedAt', repository: 'library/ubuntu', id: ID }, `${REPO}/_uploads/${ID}/startedat`],
    [
      { kind: 'uploadHashStatesDir', repository: 'library/ubuntu', id: ID, algorithm: 'sha256' },
      `${REPO}/_uploads/${ID}/hashstates/sha256`,
    ],
    [
      { kind: 'uploadHashState', repository: 'library/ubuntu', id: ID, algorithm: 'sha256', offset: 0 },
      `${REPO}/_uploads/${ID}/hashstates/sha256/0`,
    ],
    [
      { kind: 'uploadHashState', repository: 'library/ubuntu', id: ID, algorithm: 'sha512', offset: 20971520 },
      `${REPO}/_uploads/${ID}/hashstates/sha512/20971520`,
    ],
  ])('%j → %s', (spec, expected) => {
    expect(pathFor(spec)).toBe(expected);
  });

  it.each<[string, PathSpec, string]>([
    ['a traversing name', { kind: 'repositoryDir', repository: '../../etc' }, 'NAME_INVALID'],
    ['an empty component', { kind: 'layersDir', repository: 'a//b' }, 'NAME_INVALID'],
    ['an upper-case name', { kind: 'uploadsDir', repository: 'Library/ubuntu' }, 'NAME_INVALID'],
    ['a traversing tag', { kind: 'manifestTagCurrentLink', repository: 'a', tag: '..' }, 'TAG_INVALID'],
    ['a tag with a slash', { kind: 'manifestTagDir', repository: 'a', tag: 'x/y' }, 'TAG_INVALID'],
    ['a digest with a slash', { kind: 'blobData', digest: `sha256:${HEX256}/../x` }, 'DIGEST_INVALID'],
    ['an upper-case digest', { kind: 'layerLink', repository: 'a', digest: SHA256.toUpperCase() }, 'DIGEST_INVALID'],
    ['an unknown algorithm', { kind: 'manifestRevisionLink', repository: 'a', digest: `md5:${'a'.repeat(32)}` }, 'DIGEST_INVALID'],
    ['a parent-directory upload id', { kind: 'uploadData', repository: 'a', id: '..' }, 'BLOB_UPLOAD_UNKNOWN'],
    ['an upload id with a slash', { kind: 'uploadDir', repository: 'a', id: 'x/y' }, 'BLOB_UPLOAD_UNKNOWN'],
    ['an empty upload id', { kind: 'uploadStartedAt', repository: 'a', id: '' }, 'BLOB_UPLOAD_UNKNOWN'],
  ])('refuses %s', (_why, spec, code) => {
    expect(() => pathFor(spec)).toThrow(OciError);
    try {
      pathFor(spec);
    } catch (error) {
      expect((error as OciError).code).toBe(code);
    }
  });

  it('refuses a hash state offset that is not a byte count', () => {
    for (const offset of [-1, 1.5, Number.NaN]) {
      expect(() => pathFor({ kind: 'uploadHashState', repository: 'a', id: ID, algorithm: 'sha256', offset })).toThrow(RangeError);
    }
  });

  it('refuses an algorithm smuggled past the type checker', () => {
    const spec = { kind: 'uploadHashStatesDir', repository: 'a', id: ID, algorithm: '../x' } as unknown as PathSpec;
    expect(() => pathFor(spec)).toThrow(RangeError);
  });
});

describe('repositoryNameFromPath', () => {
  it.each([
    [`${REPO}/_manifests`, 'library/ubuntu'],
    [`${REPO}/_layers/sha256/${HEX256}/link`, 'library/ubuntu'],
    [`${R}/repositories/a/_uploads/${ID}/data`, 'a'],
    [`${R}/repositories/a/b/c/_manifests/tags/latest/current/link`, 'a/b/c'],
  ])('%s belongs to %s', (path, name) => {
    expect(repositoryNameFromPath(path)).toBe(name);
  });

  it.each([
    `${R}/blobs/sha256/ab/${HEX256}/data`,
    `${R}/repositories`,
    `${R}/repositories/_manifests`,
    `${R}/repositories/library/ubuntu`,
    `${R}/repositories/Library/_manifests`,
    `/elsewhere/repositories/a/_manifests`,
  ])('%s names no repository', (path) => {
    expect(repositoryNameFromPath(path)).toBeUndefined();
  });

  it('inverts pathFor', () => {
    for (const repository of ['a', 'library/ubuntu', 'x.y/z__w/q-r']) {
      expect(repositoryNameFromPath(pathFor({ kind: 'manifestTagsDir', repository }))).toBe(repository);
    }
  });
});
