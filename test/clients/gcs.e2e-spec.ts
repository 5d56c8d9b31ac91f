import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  type BerthProcess,
  createTempDir,
  freePort,
  GcsJsonApiServer,
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
 * berth on the gcs driver, driven by skopeo. No GCS emulator runs here (README): the bucket is
 * libs/testing's JSON API test server, which checks V4 signatures and keeps upload sessions.
 */
describe('skopeo through berth on gcs (JSON API test server)', () => {
  let work: TempDir;
  let server: GcsJsonApiServer;
  let berth: BerthProcess;
  const uploads = async (repository: string) => (await server.objectNames('registry')).filter((name) => name.includes(`/repositories/${repository}/_uploads/`));

  beforeAll(async () => {
    work = await createTempDir('berth-gcs-');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'berth-e2e@berth-test.iam.gserviceaccount.com';
    server = await GcsJsonApiServer.start({ buckets: ['registry'], signer: { email, publicKey } });
    berth = await startBerth({
      config: {
        version: '0.1',
        log: { level: 'error', accesslog: { disabled: true } },
        storage: {
          gcs: {
            bucket: 'registry',
            rootdirectory: '/berth',
            chunksize: MiB,
            apiendpoint: server.url,
            credentials: { client_email: email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
          },
          delete: { enabled: true },
          redirect: { disable: false },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${await freePort()}`, secret: 'gcs-e2e-secret' },
      },
    });
  });

  afterAll(async () => {
    await berth?.stop();
    await server?.stop();
    await work?.remove();
  });

  it('pushes a multi-layer image and pulls it back byte-identical, following the 307s to signed URLs', async () => {
    const source = `${work.path}/image`;
    const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 5 * MiB }, { size: 2 * MiB }, { size: 1 }] });
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(berth.url, 'team/app', 'v1'), { preserveDigests: true });
    const out = `${work.path}/image-out`;
    await skopeoCopy(skopeoRef.registry(berth.url, 'team/app', 'v1'), skopeoRef.oci(out, 'v1'), { preserveDigests: true });
    const digests = [image.config.digest, ...image.layers.map((entry) => entry.digest)];
    expect(await readBack(out, 'v1', digests)).toEqual({ manifest: image.manifest.digest, blobs: digests });
    expect((await server.requests()).some((request) => request.url.includes('X-Goog-Signature='))).toBe(true);
    expect(await uploads('team/app')).toEqual([]);
    expect(await server.openSessions()).toEqual([]);

    const layer = image.layers[0]!.digest;
    const response = await fetch(`${berth.url}/v2/team/app/blobs/${layer}`, { redirect: 'manual' });
    expect(response.status).toBe(307);
    const served = await fetch(response.headers.get('location')!);
    expect(`sha256:${createHash('sha256').update(Buffer.from(await served.arrayBuffer())).digest('hex')}`).toBe(layer);
  });

  it('leaves no object and no resumable session behind a cancelled upload', async () => {
    const start = await fetch(`${berth.url}/v2/team/cancel/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const chunk = Buffer.alloc(3 * MiB, 7);
    const patched = await fetch(new URL(start.headers.get('location')!, berth.url), {
      method: 'PATCH',
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` },
    });
    expect(patched.status).toBe(202);
    expect((await uploads('team/cancel')).length).toBeGreaterThan(0);
    const cancelled = await fetch(new URL(patched.headers.get('location')!, berth.url), { method: 'DELETE' });
    expect(cancelled.status).toBe(204);
    expect(await uploads('team/cancel')).toEqual([]);
    expect(await server.openSessions()).toEqual([]);
  });
});
