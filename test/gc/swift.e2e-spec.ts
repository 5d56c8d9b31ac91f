import { randomBytes } from 'node:crypto';
import { dropContainer, listContainer, type SwiftBackend, swiftBackend, swiftSession } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hexOf } from '../e2e/support/media-types';
import { getManifest, pushBlob, pushImage, pushIndex, type PushedImage } from '../e2e/support/registry-client';
import { berthGc, deleteManifest, expectPulls, referenceGc, type SharedStorage, startSharedStorage } from './gc-support';

// Each case runs several collector processes; a loaded machine takes minutes (no timing is asserted).
vi.setConfig({ testTimeout: 300_000 });

const container = 'berth_gc';

function blobsOf(image: PushedImage): string[] {
  return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
}

/**
 * The same collection on Swift (the reference's driver, shared by berth and Debian's
 * `docker-registry` on one container): the two dry runs agree but for distribution#3178; berth
 * collects, segments no object owns go too, and what lives still pulls.
 */
describe('berth garbage-collect on Swift', () => {
  let backend: SwiftBackend;
  let shared: SharedStorage;

  beforeAll(async () => {
    backend = swiftBackend();
    await dropContainer(backend, container);
    shared = await startSharedStorage({ swift: { authurl: backend.authurl, username: backend.username, password: backend.password, container, chunksize: 5 * 1024 * 1024 } });
  });

  afterAll(async () => {
    await shared?.stop();
    if (backend) await dropContainer(backend, container);
  });

  it('collects deleted images, keeps a multi-arch image whole, and removes orphaned segments', async () => {
    const url = shared.berth.url;
    const amd64 = await pushImage(url, 'multi', undefined, { platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = await pushImage(url, 'multi', undefined, { platform: { os: 'linux', architecture: 'arm64' } });
    const index = await pushIndex(url, 'multi', 'latest', [amd64, arm64]);
    const layer = randomBytes(2000);
    const live = await pushImage(shared.reference.url, 'app', 'v1', { layers: [layer] });
    const deleted = await pushImage(shared.reference.url, 'app', 'old', { layers: [layer, randomBytes(500)] });
    await deleteManifest(shared.reference.url, 'app', deleted.digest);
    const orphan = await pushBlob(url, 'app', randomBytes(700));
    // A segment no object owns: what a writer killed before its manifest leaves behind.
    const { token, storageUrl } = await swiftSession(backend);
    const segment = `segments/abc/${randomBytes(20).toString('hex')}/0000000000000001`;
    const put = await fetch(`${storageUrl}/${container}/${segment}`, { method: 'PUT', headers: { 'x-auth-token': token }, body: randomBytes(100) });
    expect(put.status).toBe(201);

    const ours = await berthGc(shared, { dryRun: true, deleteUntagged: true });
    const theirs = await referenceGc(shared, { dryRun: true, deleteUntagged: true });
    const garbage = [deleted.digest, deleted.config.digest, deleted.layers[1]!.digest, orphan].sort();
    expect(ours.manifests).toEqual([]);
    expect(ours.blobs).toEqual(garbage);
    expect(theirs.manifests, 'distribution#3178').toEqual([amd64.digest, arm64.digest].sort());
    expect(theirs.blobs, 'distribution#3178').toEqual([...garbage, ...blobsOf(amd64), ...blobsOf(arm64)].sort());
    expect(ours.stdout).toContain(`orphaned backend object eligible for deletion: ${segment}`);

    await berthGc(shared, { deleteUntagged: true });
    const names = await listContainer(backend, container);
    expect(names).not.toContain(segment);
    for (const digest of garbage) expect(names.some((name) => name.includes(hexOf(digest)) && name.includes('/blobs/')), digest).toBe(false);
    await expectPulls(url, 'multi', 'latest', index.digest, []);
    for (const child of [amd64, arm64]) await expectPulls(url, 'multi', child.digest, child.digest, blobsOf(child));
    await expectPulls(shared.reference.url, 'app', 'v1', live.digest, blobsOf(live));
    expect((await getManifest(url, 'app', deleted.digest)).status).toBe(404);
    const again = await berthGc(shared, { dryRun: true, deleteUntagged: true });
    expect([again.blobs, again.manifests]).toEqual([[], []]);
  });
});
