import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BerthProcess,
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  skopeoCopy,
  skopeoInspect,
  skopeoRef,
  startBerth,
  type TempDir,
  writeOciImageLayout,
  writeOciIndexLayout,
} from '@berth/testing';
import { readBack } from './image-layouts';

const MiB = 1024 * 1024;

describe('skopeo, a real client, against berth', () => {
  let work: TempDir;
  let berth: BerthProcess;

  beforeAll(async () => {
    work = await createTempDir('berth-skopeo-');
    berth = await startBerth({
      config: filesystemRegistryConfig({ rootDirectory: `${work.path}/registry`, port: await freePort() }),
    });
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  it('copies a multi-layer image in and back out byte-identical', async () => {
    const source = `${work.path}/image`;
    const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 3 * MiB }, { size: 5 * MiB }, { size: 1 }] });
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(berth.url, 'team/app', 'v1'), { preserveDigests: true });

    const out = `${work.path}/image-out`;
    await skopeoCopy(skopeoRef.registry(berth.url, 'team/app', 'v1'), skopeoRef.oci(out, 'v1'), { preserveDigests: true });
    const digests = [image.config.digest, ...image.layers.map((layer) => layer.digest)];
    expect(await readBack(out, 'v1', digests)).toEqual({ manifest: image.manifest.digest, blobs: digests });
  });

  it('copies a multi-arch index with --all in and back out byte-identical', async () => {
    const source = `${work.path}/index`;
    const index = await writeOciIndexLayout(
      source,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
      { tag: 'multi', layers: [{ size: 2 * MiB }, { size: 64 * 1024 }] },
    );
    const remote = skopeoRef.registry(berth.url, 'team/multi', 'multi');
    await skopeoCopy(skopeoRef.oci(source, 'multi'), remote, { all: true, preserveDigests: true });

    const raw = await skopeoInspect(remote, { raw: true });
    expect(raw.mediaType).toBe('application/vnd.oci.image.index.v1+json');

    const out = `${work.path}/index-out`;
    await skopeoCopy(remote, skopeoRef.oci(out, 'multi'), { all: true, preserveDigests: true });
    const digests = index.images.flatMap((image) => [
      image.manifest.digest,
      image.config.digest,
      ...image.layers.map((layer) => layer.digest),
    ]);
    expect(await readBack(out, 'multi', digests)).toEqual({ manifest: index.index.digest, blobs: digests });
  });

  it('takes a Docker schema 2 push (what docker push sends) and serves it back', async () => {
    const source = `${work.path}/docker`;
    await writeOciImageLayout(source, { tag: 'v2s2', layers: [{ size: MiB }] });
    const remote = skopeoRef.registry(berth.url, 'team/docker', 'v2s2');
    await skopeoCopy(skopeoRef.oci(source, 'v2s2'), remote, { format: 'v2s2' });

    const raw = await skopeoInspect(remote, { raw: true });
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    await skopeoCopy(remote, skopeoRef.oci(`${work.path}/docker-out`, 'v2s2'));
  });
});
