import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ociBlobPath } from '@berth/testing';

/** The digest of a file, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * The digest of the manifest (or index) that `index.json` of an OCI layout tags `tag`, and the
 * digests of the files of the blobs `digests`, read back from the layout: equal digests mean
 * byte-identical content.
 */
export async function readBack(dir: string, tag: string, digests: readonly string[]) {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const tagged = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  const blobs = await Promise.all(digests.map((digest) => fileDigest(ociBlobPath(dir, digest))));
  return { manifest: tagged?.digest, blobs };
}
