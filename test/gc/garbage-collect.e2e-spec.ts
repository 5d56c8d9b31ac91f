import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { StorageUse } from '@berth/garbage-collection';
import { repoRoot } from '@berth/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hexOf } from '../e2e/support/media-types';
import { getManifest, http, pathOf, pushBlob, pushImage, pushIndex, type PushedImage } from '../e2e/support/registry-client';
import { berthGc, berthGcFailing, blobStored, deleteManifest, expectPulls, referenceGc, type SharedStorage, startSharedStorage } from './gc-support';

/**
 * `berth garbage-collect` against Debian's `docker-registry garbage-collect` (Distribution 2.8)
 * on one storage, written by either. Where the reference is correct the two dry runs agree on
 * every eligible manifest and blob and on the count of marked blobs; where they differ, the test
 * names the reference's bug and asserts the exact difference. Then berth collects for real and
 * what must live still pulls.
 */
// Each case runs several collector processes; a loaded machine takes minutes (no timing is asserted).
vi.setConfig({ testTimeout: 300_000 });

const writers = ['berth', 'the reference'] as const;
const run = promisify(execFile);

let storage: SharedStorage | undefined;

afterEach(async () => {
  await storage?.stop();
  storage = undefined;
});

async function start(writer: (typeof writers)[number]): Promise<{ url: string; shared: SharedStorage }> {
  storage = await startSharedStorage();
  return { url: writer === 'berth' ? storage.berth.url : storage.reference.url, shared: storage };
}

function blobsOf(image: PushedImage): string[] {
  return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

describe.each(writers)('on a storage %s wrote', (writer) => {
  it('deleted and retagged images go, a layer they share with a live image stays, and both collectors agree', async () => {
    const { url, shared } = await start(writer);
    const shared1 = randomBytes(3000);
    const live = await pushImage(url, 'app', 'v1', { layers: [shared1, randomBytes(1000)] });
    const deleted = await pushImage(url, 'app', 'gone', { layers: [shared1, randomBytes(1100)] });
    await deleteManifest(url, 'app', deleted.digest);
    const retagged = await pushImage(url, 'app', 'moving', { layers: [randomBytes(1200)] });
    const current = await pushImage(url, 'app', 'moving', { layers: [randomBytes(1300)] });
    const orphan = await pushBlob(url, 'app', randomBytes(900));

    // Without --delete-untagged every revision is live: only what no revision references goes.
    const [ours, theirs] = [await berthGc(shared, { dryRun: true }), await referenceGc(shared, { dryRun: true })];
    const unreferenced = sorted([deleted.digest, deleted.config.digest, deleted.layers[1]!.digest, orphan]);
    expect(ours.blobs).toEqual(unreferenced);
    expect(theirs.blobs).toEqual(ours.blobs);
    expect(ours.manifests).toEqual([]);
    expect(theirs.marked).toBe(ours.marked);
    expect(ours.markedManifests).toEqual(theirs.markedManifests);
    expect(ours.summary).toMatch(/^dry run: \d+ bytes .* would be freed/);

    const [ours2, theirs2] = [
      await berthGc(shared, { dryRun: true, deleteUntagged: true }),
      await referenceGc(shared, { dryRun: true, deleteUntagged: true }),
    ];
    expect(ours2.manifests).toEqual([retagged.digest]);
    expect(theirs2.manifests).toEqual(ours2.manifests);
    expect(ours2.blobs).toEqual(sorted([...unreferenced, retagged.digest, ...blobsOf(retagged)]));
    expect(theirs2.blobs).toEqual(ours2.blobs);
    expect(theirs2.marked).toBe(ours2.marked);

    const collected = await berthGc(shared, { deleteUntagged: true });
    expect(collected.blobs).toEqual(ours2.blobs);
    for (const digest of ours2.blobs) expect(blobStored(shared.root, digest), digest).toBe(false);
    expect(blobStored(shared.root, live.layers[0]!.digest), 'the shared layer').toBe(true);
    await expectPulls(shared.berth.url, 'app', 'v1', live.digest, blobsOf(live));
    await expectPulls(shared.berth.url, 'app', 'moving', current.digest, blobsOf(current));
    expect((await getManifest(shared.berth.url, 'app', retagged.digest)).status).toBe(404);
    // Nothing left to collect: a second run agrees.
    const again = await berthGc(shared, { dryRun: true, deleteUntagged: true });
    expect([again.blobs, again.manifests, again.layerLinks]).toEqual([[], [], []]);
  });

  it('--delete-untagged keeps every child of a tagged index, and its layers (the reference deletes them: distribution#3178)', async () => {
    const { url, shared } = await start(writer);
    const amd64 = await pushImage(url, 'multi', undefined, { platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = await pushImage(url, 'multi', undefined, { platform: { os: 'linux', architecture: 'arm64' } });
    const index = await pushIndex(url, 'multi', 'latest', [amd64, arm64]);

    const ours = await berthGc(shared, { dryRun: true, deleteUntagged: true });
    const theirs = await referenceGc(shared, { dryRun: true, deleteUntagged: true });
    expect([ours.manifests, ours.blobs]).toEqual([[], []]);
    // The reference's bug, exactly: the untagged children are candidates, and their configs and
    // layers are never marked (2.8 marks one level: the index names only the children).
    expect(theirs.manifests, 'distribution#3178').toEqual(sorted([amd64.digest, arm64.digest]));
    expect(theirs.blobs, 'distribution#3178').toEqual(sorted([...blobsOf(amd64), ...blobsOf(arm64)]));
    // Without --delete-untagged the reference is right, and the two agree.
    const [plain, plainTheirs] = [await berthGc(shared, { dryRun: true }), await referenceGc(shared, { dryRun: true })];
    expect([plain.blobs, plainTheirs.blobs, plainTheirs.marked]).toEqual([[], [], plain.marked]);

    await berthGc(shared, { deleteUntagged: true });
    await expectPulls(shared.berth.url, 'multi', 'latest', index.digest, []);
    for (const child of [amd64, arm64]) await expectPulls(shared.berth.url, 'multi', child.digest, child.digest, blobsOf(child));
  });

  it('--delete-untagged keeps the referrers of a live manifest (the reference deletes them) and collects those whose subject goes', async () => {
    const { url, shared } = await start(writer);
    const image = await pushImage(url, 'signed', 'v1');
    const signature = await pushImage(url, 'signed', undefined, { extra: { subject: image.descriptor, artifactType: 'application/vnd.example.signature' } });
    const untagged = await pushImage(url, 'signed', undefined);
    const orphanedSignature = await pushImage(url, 'signed', undefined, { extra: { subject: untagged.descriptor, artifactType: 'application/vnd.example.signature' } });

    const ours = await berthGc(shared, { dryRun: true, deleteUntagged: true });
    const theirs = await referenceGc(shared, { dryRun: true, deleteUntagged: true });
    const garbage = [untagged, orphanedSignature].flatMap((manifest) => [manifest.digest, ...blobsOf(manifest)]);
    expect(ours.manifests).toEqual(sorted([untagged.digest, orphanedSignature.digest]));
    expect(ours.blobs).toEqual(sorted(garbage));
    // The reference's bug: `subject` is no reference to it (2.8 knows nothing of referrers), so
    // an untagged signature of a live image is garbage.
    expect(theirs.manifests, 'referrers of a live manifest').toEqual(sorted([...ours.manifests, signature.digest]));
    expect(theirs.blobs, 'referrers of a live manifest').toEqual(sorted([...garbage, signature.digest, ...blobsOf(signature)]));

    await berthGc(shared, { deleteUntagged: true });
    await expectPulls(shared.berth.url, 'signed', 'v1', image.digest, blobsOf(image));
    await expectPulls(shared.berth.url, 'signed', signature.digest, signature.digest, blobsOf(signature));
    const referrers = await http(shared.berth.url).get(`/v2/signed/referrers/${image.digest}`);
    expect((referrers.body as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([signature.digest]);
    expect((await getManifest(shared.berth.url, 'signed', orphanedSignature.digest)).status).toBe(404);
  });
});

describe('berth garbage-collect beyond the reference', () => {
  it('removes upload sessions left behind, and says how many bytes it freed; storage-use counts what the manifests reference', async () => {
    const { url, shared } = await start('berth');
    const image = await pushImage(url, 'uploads', 'v1');
    const use = JSON.parse((await run(process.execPath, [join(repoRoot, 'cli/dist/main.js'), 'storage-use', '--json', shared.configFile])).stdout) as StorageUse;
    const bytes = image.bytes.length + image.config.size + image.layers.reduce((total, layer) => total + layer.size, 0);
    expect(use).toEqual({ repositories: [{ repository: 'uploads', manifests: 1, blobs: 4, bytes }], referenced: { blobs: 4, bytes } });
    const session = await http(url).post('/v2/uploads/blobs/uploads/');
    expect(session.status).toBe(202);
    const patched = await http(url).patch(pathOf(session.headers.location)).set('Content-Type', 'application/octet-stream').send(randomBytes(4096));
    expect(patched.status).toBe(202);
    const id = session.headers['docker-upload-uuid'] as string;
    const uploads = join(shared.root, 'docker/registry/v2/repositories/uploads/_uploads');

    const dry = await berthGc(shared, { dryRun: true });
    expect(dry.uploads).toEqual([`uploads ${id}`]);
    expect(dry.summary).toMatch(/^dry run: 4096 bytes \(4\.0 KiB\) would be freed: 0 blobs \(0 bytes\), 0 manifests, 0 layer links, 1 uploads \(4096 bytes\)/);
    expect(await readdir(uploads)).toEqual([id]);
    const done = await berthGc(shared, {});
    expect(done.summary).toMatch(/^4096 bytes \(4\.0 KiB\) freed/);
    expect(await readdir(uploads)).toEqual([]);
  });

  it('a mark phase that fails deletes nothing (fail closed), and says why on stderr with exit code 1', async () => {
    const { url, shared } = await start('berth');
    const image = await pushImage(url, 'broken', 'v1');
    const orphan = await pushBlob(url, 'broken', randomBytes(800));
    const hex = hexOf(image.digest);
    await writeFile(join(shared.root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'), 'not a manifest');
    const failed = await berthGcFailing(shared, { deleteUntagged: true });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^failed to garbage collect: failed to mark: broken: manifest sha256:[0-9a-f]{64} cannot be read/);
    expect(blobStored(shared.root, orphan)).toBe(true);
    expect(existsSync(join(shared.root, 'docker/registry/v2/repositories/broken/_layers/sha256', hexOf(orphan)))).toBe(true);
  });
});
