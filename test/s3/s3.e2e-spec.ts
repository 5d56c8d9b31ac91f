import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InternalRequestSigner, postStreamMessage } from '@berth/bus';
import { UploadPattern, type UploadProgress } from '@berth/contracts';
import {
  type BerthProcess,
  createTempDir,
  emptyBucket,
  ensureBucket,
  freePort,
  listBucket,
  listMultipartUploads,
  ociBlobPath,
  type OciImage,
  PrivateRedis,
  type ReferenceRegistry,
  type S3Backend,
  s3Backend,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startReferenceRegistry,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pathOf, startUpload, withQuery } from '../e2e/support/registry-client';

const MiB = 1024 * 1024;
const BUCKET = 'berth-e2e';

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The `storage.s3` section both registries get: the same bucket and root, S3 on the test Swift (s3api). */
function s3Storage(backend: S3Backend, root: string): Record<string, unknown> {
  const { forcepathstyle: _pathStyle, ...keys } = backend;
  // The reference 2.8 has no forcepathstyle key; with regionendpoint it goes path-style anyway, as berth does.
  return { ...keys, bucket: BUCKET, rootdirectory: `/${root}`, secure: false, chunksize: 5 * MiB };
}

function berthConfig(storage: Record<string, unknown>, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { s3: storage, delete: { enabled: true }, ...extra },
    http: { addr: `127.0.0.1:${port}` },
  };
}

async function sameBlobs(pulled: string, source: string, image: OciImage): Promise<void> {
  for (const blob of [image.config, ...image.layers]) {
    const bytes = await readFile(ociBlobPath(pulled, blob.digest));
    expect(digestOf(bytes)).toBe(blob.digest);
    expect(bytes.equals(await readFile(ociBlobPath(source, blob.digest)))).toBe(true);
  }
}

/**
 * Issue 17's proofs on S3 (the test Swift's s3api): skopeo through berth, the reference
 * registry (Debian's docker-registry 2.8, its s3 driver) on the same bucket both ways,
 * redirects, and no multipart upload left by cancel or by upload purging.
 */
describe('berth on s3, with the reference registry on the same bucket', () => {
  let backend: S3Backend;
  let berth: BerthProcess;
  let reference: ReferenceRegistry;
  let work: TempDir;
  let image: OciImage;
  const root = `e2e-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    backend = s3Backend();
    await ensureBucket(backend, BUCKET);
    work = await createTempDir('berth-s3-e2e-');
    berth = await startBerth({ config: berthConfig(s3Storage(backend, root), await freePort()), topology: 'all-in-one' });
    reference = await startReferenceRegistry({ rootDirectory: work.path, extraConfig: { storage: { s3: s3Storage(backend, root), delete: { enabled: true } } } });
    // A layer of two and a half parts, one of a part of one, and the config.
    image = await writeOciImageLayout(join(work.path, 'image'), { tag: 'latest', layers: [{ size: 12 * MiB }, { size: 70_000 }] });
  });

  afterAll(async () => {
    await berth?.stop();
    await reference?.stop();
    await work?.remove();
    if (backend) await emptyBucket(backend, BUCKET, `${root}/`);
  });

  it('pushes through berth with skopeo, into the reference layout under rootdirectory, leaving no multipart upload', async () => {
    await skopeoCopy(skopeoRef.oci(join(work.path, 'image'), 'latest'), skopeoRef.registry(berth.url, 'busybox', 'latest'), { preserveDigests: true });
    const keys = await listBucket(backend, BUCKET, `${root}/`);
    for (const blob of [image.config, ...image.layers]) {
      const hex = blob.digest.slice('sha256:'.length);
      expect(keys).toContain(`${root}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`);
      expect(keys).toContain(`${root}/docker/registry/v2/repositories/busybox/_layers/sha256/${hex}/link`);
    }
    expect(keys).toContain(`${root}/docker/registry/v2/repositories/busybox/_manifests/tags/latest/current/link`);
    expect(await listMultipartUploads(backend, BUCKET, `${root}/`)).toEqual([]);
  });

  it('answers blob GETs with a 307 to a pre-signed URL that serves the blob, and skopeo pulls through it', async () => {
    const layer = image.layers[1]!;
    const response = await fetch(`${berth.url}/v2/busybox/blobs/${layer.digest}`, { redirect: 'manual' });
    expect(response.status).toBe(307);
    const location = response.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${backend.regionendpoint}/${BUCKET}/${root}/docker/registry/v2/blobs/sha256/.*X-Amz-Signature=`));
    const direct = await fetch(location);
    expect(digestOf(Buffer.from(await direct.arrayBuffer()))).toBe(layer.digest);

    const dir = join(work.path, 'pulled-berth');
    await skopeoCopy(skopeoRef.registry(berth.url, 'busybox', 'latest'), skopeoRef.oci(dir, 'latest'), { preserveDigests: true });
    await sameBlobs(dir, join(work.path, 'image'), image);
  });

  it("serves berth's image through the reference on the same bucket", async () => {
    const dir = join(work.path, 'pulled-reference');
    await skopeoCopy(skopeoRef.registry(reference.url, 'busybox', 'latest'), skopeoRef.oci(dir, 'latest'), { preserveDigests: true });
    await sameBlobs(dir, join(work.path, 'image'), image);
  });

  it('serves through berth what the reference pushed to the same bucket', async () => {
    const other = await writeOciImageLayout(join(work.path, 'other'), { tag: 'latest', layers: [{ size: 7 * MiB }] });
    await skopeoCopy(skopeoRef.oci(join(work.path, 'other'), 'latest'), skopeoRef.registry(reference.url, 'pushed-by-reference', 'latest'), { preserveDigests: true });
    const dir = join(work.path, 'pulled-from-reference-push');
    await skopeoCopy(skopeoRef.registry(berth.url, 'pushed-by-reference', 'latest'), skopeoRef.oci(dir, 'latest'), { preserveDigests: true });
    await sameBlobs(dir, join(work.path, 'other'), other);
  });

  it('leaves no multipart upload and no object of a cancelled chunked upload', async () => {
    const repo = 'cancelled/upload';
    let location = await startUpload(berth.url, repo);
    for (const [start, size] of [[0, 6 * MiB], [6 * MiB, 100_000]] as const) {
      const patch = await http(berth.url)
        .patch(location)
        .set('Content-Type', 'application/octet-stream')
        .set('Content-Range', `${start}-${start + size - 1}`)
        .send(randomBytes(size));
      expect(patch.status, patch.text).toBe(202);
      location = pathOf(patch.headers.location);
    }
    const uploadsPrefix = `${root}/docker/registry/v2/repositories/${repo}/_uploads/`;
    // Between PATCHes the data is the session's open multipart upload (its parts added chunk by chunk).
    expect((await listMultipartUploads(backend, BUCKET, uploadsPrefix)).filter((upload) => upload.Key?.endsWith('/data'))).toHaveLength(1);
    const cancel = await http(berth.url).delete(location);
    expect(cancel.status, cancel.text).toBe(204);
    expect(await listMultipartUploads(backend, BUCKET, uploadsPrefix)).toEqual([]);
    expect(await listBucket(backend, BUCKET, uploadsPrefix)).toEqual([]);
  });
});

describe('upload purging on s3', () => {
  let backend: S3Backend;
  let berth: BerthProcess;
  const root = `e2e-purge-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    backend = s3Backend();
    await ensureBucket(backend, BUCKET);
    const maintenance = { uploadpurging: { enabled: true, age: '1s', interval: '2s', dryrun: false } };
    berth = await startBerth({ config: berthConfig(s3Storage(backend, root), await freePort(), { maintenance }), topology: 'all-in-one' });
  });

  afterAll(async () => {
    await berth?.stop();
    if (backend) await emptyBucket(backend, BUCKET, `${root}/`);
  });

  it('aborts the multipart upload of a purged session and removes its objects (distribution#1948)', async () => {
    const repo = 'purged/upload';
    const location = await startUpload(berth.url, repo);
    const patch = await http(berth.url).patch(location).set('Content-Type', 'application/octet-stream').send(randomBytes(200_000));
    expect(patch.status, patch.text).toBe(202);
    const uploadsPrefix = `${root}/docker/registry/v2/repositories/${repo}/_uploads/`;
    // The purge may already have come; at the latest it comes within two intervals.
    const deadline = Date.now() + 60_000;
    while ((await listMultipartUploads(backend, BUCKET, uploadsPrefix)).length > 0 || (await listBucket(backend, BUCKET, uploadsPrefix)).length > 0) {
      if (Date.now() > deadline) throw new Error('the purge left the session on s3');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const status = await http(berth.url).get(location);
    expect(status.status).toBe(404);
  });
});

describe('the distributed topology on s3', () => {
  let backend: S3Backend;
  let redis: PrivateRedis;
  let berth: BerthProcess;
  const root = `e2e-distributed-${randomBytes(4).toString('hex')}`;
  /** The upload instances serve only requests signed with it: this test stands in for the gateway. */
  const secret = randomBytes(16).toString('hex');

  beforeAll(async () => {
    backend = s3Backend();
    await ensureBucket(backend, BUCKET);
    redis = await PrivateRedis.start();
    const port = await freePort();
    const config = { ...berthConfig(s3Storage(backend, root), port), http: { addr: `127.0.0.1:${port}`, secret }, redis: { addr: redis.addr } };
    berth = await startBerth({ config, topology: 'distributed', readyTimeoutMs: 60_000 });
  });

  afterAll(async () => {
    await berth?.stop();
    await redis?.kill();
    if (backend) await emptyBucket(backend, BUCKET, `${root}/`);
  });

  it('takes a chunked push alternating between the two upload instances, the session living in the multipart upload', async () => {
    const uploads = berth.instances.filter((instance) => instance.service === 'upload');
    expect(uploads).toHaveLength(2);
    const repo = 'distributed/alternating';
    const blob = randomBytes(12 * MiB + 123);
    const started = new URL(await startUpload(berth.url, repo), 'http://placeholder');
    const id = started.pathname.split('/').at(-1)!;
    let state = started.searchParams.get('_state')!;
    const agent = new Agent();
    try {
      // Chunks of 3 MiB: parts are 5 MiB, so every instance continues another's short last part.
      const size = 3 * MiB;
      for (let start = 0, index = 0; start < blob.length; start += size, index++) {
        const chunk = blob.subarray(start, Math.min(start + size, blob.length));
        const reply = (await postStreamMessage(
          uploads[index % 2]!.address!,
          {
            pattern: UploadPattern.Append,
            request: { repository: repo, id, state, range: { start, end: start + chunk.length - 1 }, length: chunk.length },
            body: Readable.from([chunk]),
          },
          agent,
          new InternalRequestSigner(secret),
        )) as UploadProgress;
        expect(reply.offset).toBe(start + chunk.length);
        state = reply.state;
      }
    } finally {
      agent.destroy();
    }
    const digest = digestOf(blob);
    const put = await http(berth.url).put(withQuery(`/v2/${repo}/blobs/uploads/${id}?_state=${encodeURIComponent(state)}`, { digest }));
    expect(put.status, put.text).toBe(201);
    const pulled = await fetch(`${berth.url}/v2/${repo}/blobs/${digest}`);
    expect(digestOf(Buffer.from(await pulled.arrayBuffer()))).toBe(digest);
    expect(await listMultipartUploads(backend, BUCKET, `${root}/`)).toEqual([]);
  });
});
