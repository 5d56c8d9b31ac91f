import { createHash } from 'node:crypto';
import {
  type BerthProcess,
  createTempDir,
  freePort,
  PrivateAzurite,
  skopeoCopy,
  skopeoRef,
  startBerth,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBack } from './image-layouts';

const MiB = 1024 * 1024;

/**
 * berth on the azure driver against azurite, driven by skopeo. No reference registry here:
 * Debian's docker-registry is built without its azure driver.
 */
describe('skopeo through berth on azure (azurite)', () => {
  let work: TempDir;
  let azurite: PrivateAzurite;
  let berth: BerthProcess;
  let purging: BerthProcess;
  const container = () => azurite.container('registry');
  const blobsUnder = (prefix: string) => azurite.blobsUnder('registry', prefix);

  function config(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      version: '0.1',
      log: { level: 'error', accesslog: { disabled: true } },
      storage: {
        azure: { ...azurite.driverParams('registry'), rootdirectory: '/berth' },
        delete: { enabled: true },
        redirect: { disable: false },
        maintenance: { uploadpurging: { enabled: false } },
        ...extra,
      },
      http: { addr: `127.0.0.1:${port}`, secret: 'azure-e2e-secret' },
    };
  }

  beforeAll(async () => {
    work = await createTempDir('berth-azure-');
    azurite = await PrivateAzurite.start();
    // Six processes in the distributed topology: patience for a loaded machine.
    berth = await startBerth({ config: config(await freePort()), readyTimeoutMs: 120_000 });
  });

  afterAll(async () => {
    await purging?.stop();
    await berth?.stop();
    await azurite?.stop();
    await work?.remove();
  });

  it('pushes a multi-layer image and pulls it back byte-identical, following the 307s to azurite', async () => {
    const source = `${work.path}/image`;
    const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 6 * MiB }, { size: 3 * MiB }, { size: 1 }] });
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(berth.url, 'team/app', 'v1'), { preserveDigests: true });
    const layer = image.layers[0]!.digest.slice('sha256:'.length);
    expect((await container().getBlobClient(`berth/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data`).getProperties()).contentLength).toBe(image.layers[0]!.size);

    const out = `${work.path}/image-out`;
    await skopeoCopy(skopeoRef.registry(berth.url, 'team/app', 'v1'), skopeoRef.oci(out, 'v1'), { preserveDigests: true });
    const digests = [image.config.digest, ...image.layers.map((entry) => entry.digest)];
    expect(await readBack(out, 'v1', digests)).toEqual({ manifest: image.manifest.digest, blobs: digests });
    // The push finished every upload: no upload directory and no staged block is left.
    expect(await blobsUnder('berth/docker/registry/v2/repositories/team/app/_uploads/')).toEqual([]);
  });

  it('answers a blob GET with 307 to a SAS URL that serves the blob', async () => {
    const source = `${work.path}/redirect`;
    const image = await writeOciImageLayout(source, { tag: 'r', layers: [{ size: 2 * MiB }] });
    await skopeoCopy(skopeoRef.oci(source, 'r'), skopeoRef.registry(berth.url, 'team/redirect', 'r'), { preserveDigests: true });
    const digest = image.layers[0]!.digest;
    const response = await fetch(`${berth.url}/v2/team/redirect/blobs/${digest}`, { redirect: 'manual' });
    expect(response.status).toBe(307);
    const location = response.headers.get('location')!;
    expect(location.startsWith(azurite.serviceUrl)).toBe(true);
    expect(location).toMatch(/[?&]sig=/);
    const served = await fetch(location);
    expect(served.status).toBe(200);
    expect(`sha256:${createHash('sha256').update(Buffer.from(await served.arrayBuffer())).digest('hex')}`).toBe(digest);
  });

  it('leaves no blob and no staged block behind a cancelled upload', async () => {
    const start = await fetch(`${berth.url}/v2/team/cancel/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get('location')!, berth.url).toString();
    const chunk = Buffer.alloc(5 * MiB, 7);
    const patched = await fetch(location, {
      method: 'PATCH',
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` },
    });
    expect(patched.status).toBe(202);
    expect((await blobsUnder('berth/docker/registry/v2/repositories/team/cancel/_uploads/')).length).toBeGreaterThan(0);
    const cancelled = await fetch(new URL(patched.headers.get('location')!, berth.url), { method: 'DELETE' });
    expect(cancelled.status).toBe(204);
    expect(await blobsUnder('berth/docker/registry/v2/repositories/team/cancel/_uploads/')).toEqual([]);
  });

  // Restarts berth (six processes in the distributed topology), then waits for a purge run.
  it('purges an abandoned upload to nothing, staged blocks included', { timeout: 300_000 }, async () => {
    const start = await fetch(`${berth.url}/v2/team/purged/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, berth.url).toString();
    const chunk = Buffer.alloc(3 * MiB, 9);
    await fetch(location, { method: 'PATCH', body: chunk, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` } });
    // A writer that died mid-chunk leaves staged blocks beside the committed ones.
    const data = (await blobsUnder('berth/docker/registry/v2/repositories/team/purged/_uploads/')).find((blob) => blob.name.endsWith('/data'))!;
    await container().getBlockBlobClient(data.name).stageBlock(Buffer.from('berth-0000099999').toString('base64'), Buffer.alloc(1024), 1024);
    expect((await blobsUnder('berth/docker/registry/v2/repositories/team/purged/_uploads/')).some((blob) => blob.staged > 0)).toBe(true);

    // A second berth on the same container purges uploads older than a second, every second.
    await berth.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    purging = await startBerth({
      config: config(await freePort(), { maintenance: { uploadpurging: { enabled: true, age: '1s', interval: '1s', dryrun: false } } }),
      readyTimeoutMs: 120_000,
    });
    await expect
      .poll(() => blobsUnder('berth/docker/registry/v2/repositories/team/purged/_uploads/'), { timeout: 60_000, interval: 1_000 })
      .toEqual([]);
  });
});
