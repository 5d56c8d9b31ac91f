import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BerthProcess,
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  type ReferenceRegistry,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startReferenceRegistry,
  type TempDir,
  writeOciImageLayout,
  writeOciIndexLayout,
} from '@berth/testing';
import { readBack } from './image-layouts';

const MiB = 1024 * 1024;

/**
 * The acid test of "same storage layout" (DESIGN.md): berth and Docker's reference registry
 * (Debian's docker-registry, Distribution 2.8) serve one filesystem root at the same time;
 * what one takes, the other serves.
 */
describe('berth and the reference registry on one storage', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let reference: ReferenceRegistry;

  beforeAll(async () => {
    work = await createTempDir('berth-interop-');
    const rootDirectory = `${work.path}/registry`;
    [berth, reference] = await Promise.all([
      startBerth({ config: filesystemRegistryConfig({ rootDirectory, port: await freePort() }) }),
      startReferenceRegistry({ rootDirectory }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([berth?.stop(), reference?.stop()]);
    await work?.remove();
  });

  const directions = [
    ['berth', 'the reference'],
    ['the reference', 'berth'],
  ] as const;

  it.each(directions)('an image pushed through %s pulls byte-identical through %s', async (pushedTo) => {
    const [push, pull] = pushedTo === 'berth' ? [berth.url, reference.url] : [reference.url, berth.url];
    const name = `interop/${pushedTo === 'berth' ? 'from-berth' : 'from-reference'}`;
    const source = `${work.path}/${name}`;
    const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 2 * MiB }, { size: 300 * 1024 }] });
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(push, name, 'v1'), { preserveDigests: true });

    const out = `${source}-out`;
    await skopeoCopy(skopeoRef.registry(pull, name, 'v1'), skopeoRef.oci(out, 'v1'), { preserveDigests: true });
    const digests = [image.config.digest, ...image.layers.map((layer) => layer.digest)];
    expect(await readBack(out, 'v1', digests)).toEqual({ manifest: image.manifest.digest, blobs: digests });
  });

  it.each(directions)('a multi-arch index pushed through %s pulls through %s', async (pushedTo) => {
    const [push, pull] = pushedTo === 'berth' ? [berth.url, reference.url] : [reference.url, berth.url];
    const name = `interop/index-${pushedTo === 'berth' ? 'berth' : 'reference'}`;
    const source = `${work.path}/${name}`;
    const index = await writeOciIndexLayout(source, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    await skopeoCopy(skopeoRef.oci(source, 'latest'), skopeoRef.registry(push, name, 'latest'), {
      all: true,
      preserveDigests: true,
    });
    const out = `${source}-out`;
    await skopeoCopy(skopeoRef.registry(pull, name, 'latest'), skopeoRef.oci(out, 'latest'), { all: true, preserveDigests: true });
    const digests = index.images.map((image) => image.manifest.digest);
    expect(await readBack(out, 'latest', digests)).toEqual({ manifest: index.index.digest, blobs: digests });
  });
});
