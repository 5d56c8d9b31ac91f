import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociBlobPath, writeOciImageLayout, type OciImage } from './oci-layout';
import { startReferenceRegistry, type ReferenceRegistry } from './reference-registry';
import { skopeoCopy, skopeoInspect, skopeoRef } from './skopeo';
import { createTempDir, type TempDir } from './temp-dir';

// Proves the harness against the real reference: what goes in through skopeo comes back
// out byte for byte, and lands in Distribution's storage layout.
describe('the harness against the reference registry', () => {
  let work: TempDir;
  let registry: ReferenceRegistry;
  let image: OciImage;

  beforeAll(async () => {
    work = await createTempDir();
    registry = await startReferenceRegistry({ rootDirectory: join(work.path, 'storage') });
    image = await writeOciImageLayout(join(work.path, 'source'), {
      tag: 'v1',
      layers: [{ size: 3 * 1024 * 1024 + 7 }, { size: 100_000 }, { size: 0 }],
    });
  });

  afterAll(async () => {
    await registry?.stop();
    await work?.remove();
  });

  it('writes layers whose digests are the sha256 of their bytes', async () => {
    expect(image.layers).toHaveLength(3);
    for (const layer of image.layers) {
      expect(await sha256File(ociBlobPath(join(work.path, 'source'), layer.digest))).toBe(layer.digest);
    }
  });

  it('pushes through skopeo and pulls back the same bytes', async () => {
    const remote = skopeoRef.registry(registry.url, 'harness/three-layers', 'v1');
    await skopeoCopy(skopeoRef.oci(join(work.path, 'source'), 'v1'), remote, { preserveDigests: true });

    const served = await skopeoInspect(remote, { raw: true });
    expect(served).toMatchObject({ config: { digest: image.config.digest } });
    expect((served.layers as { digest: string }[]).map((layer) => layer.digest)).toEqual(
      image.layers.map((layer) => layer.digest),
    );

    const copy = join(work.path, 'copy');
    await skopeoCopy(remote, skopeoRef.oci(copy, 'v1'), { preserveDigests: true });
    for (const blob of [...image.layers, image.config]) {
      const [original, copied] = await Promise.all([
        readFile(ociBlobPath(join(work.path, 'source'), blob.digest)),
        readFile(ociBlobPath(copy, blob.digest)),
      ]);
      expect(copied.equals(original)).toBe(true);
      // Distribution's layout: blobs/sha256/<first two hex>/<hex>/data.
      const hex = blob.digest.slice('sha256:'.length);
      const stored = await readFile(join(work.path, 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
      expect(stored.equals(original)).toBe(true);
    }
  });

  it('fails loudly when the registry binary is missing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startReferenceRegistry({ rootDirectory: join(work.path, 'unused') })).rejects.toThrow(
        /docker-registry" is not installed/,
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
