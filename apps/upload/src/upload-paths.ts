import { type DigestAlgorithm, parseDigest, pathFor, splitDigest } from '@berth/oci';

/** A digest as its two halves: what the hashing code compares. */
export interface BlobDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** A digest from a message or a link file; DIGEST_INVALID when it is none berth knows. */
export function blobDigest(value: string): BlobDigest {
  return splitDigest(parseDigest(value));
}

export function digestText(digest: BlobDigest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

/** The files of one upload session (`_uploads/<id>/{data,startedat}`), from the one layout module. */
export function uploadPaths(repository: string, id: string): { directory: string; data: string; startedAt: string } {
  return {
    directory: pathFor({ kind: 'uploadDir', repository, id }),
    data: pathFor({ kind: 'uploadData', repository, id }),
    startedAt: pathFor({ kind: 'uploadStartedAt', repository, id }),
  };
}

export function blobDataPath(digest: BlobDigest): string {
  return pathFor({ kind: 'blobData', digest: digestText(digest) });
}

export function layerLinkPath(repository: string, digest: BlobDigest): string {
  return pathFor({ kind: 'layerLink', repository, digest: digestText(digest) });
}
