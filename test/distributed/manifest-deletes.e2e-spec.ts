import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOciError, getManifest, http, pushImage, uniqueRepo } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

/**
 * No cache configured, two manifest instances: each remembers which digest a tag named and
 * looks its revision link up while it reads the tag (ManifestStore.get). A delete run by the
 * other instance must be seen at the very next read, by tag and by digest, whichever instance
 * answers it; the gateway's queue hands sequential requests to both.
 */
const ROUNDS = 8;

describe('manifest reads after a delete by another manifest instance, no cache', () => {
  let topology: Topology;

  beforeAll(async () => {
    topology = await startTopology({ serviceLogLevel: 'debug' });
  }, 240_000);

  afterAll(async () => {
    await topology?.stop();
  });

  /** Sends `rounds` and checks that every manifest instance answered some of its reads. */
  async function byBothInstances(rounds: () => Promise<void>): Promise<void> {
    const manifests = topology.berth.instances.filter((instance) => instance.service === 'manifest');
    const watches = manifests.map((instance) => instance.process.watchStderr(/"msg":"handled manifest\.get /));
    try {
      await rounds();
      for (const deadline = Date.now() + 5_000; watches.some((watch) => watch.lines.length === 0) && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      for (const watch of watches) watch.stop();
    }
    expect(watches.map((watch) => watch.lines.length > 0)).toEqual(manifests.map(() => true));
  }

  it('a manifest deleted by digest is unknown at once by its tag and its digest; a tag deleted, at once by the tag', async () => {
    const { url } = topology.berth;
    const repo = uniqueRepo('deletes');
    const image = await pushImage(url, repo, 'gone');
    const other = await pushImage(url, repo, 'untagged');
    await byBothInstances(async () => {
      for (let round = 0; round < ROUNDS; round++) {
        expect((await getManifest(url, repo, 'gone')).status).toBe(200);
        expect((await http(url).head(`/v2/${repo}/manifests/gone`).set('Accept', image.mediaType)).status).toBe(200);
        expect((await getManifest(url, repo, 'untagged')).status).toBe(200);
      }
    });

    expect((await http(url).delete(`/v2/${repo}/manifests/${image.digest}`)).status).toBe(202);
    expect((await http(url).delete(`/v2/${repo}/manifests/untagged`)).status).toBe(202);
    await byBothInstances(async () => {
      for (let round = 0; round < ROUNDS; round++) {
        for (const reference of ['gone', image.digest, 'untagged']) {
          expectOciError(await getManifest(url, repo, reference), 404, 'MANIFEST_UNKNOWN');
          expect((await http(url).head(`/v2/${repo}/manifests/${reference}`)).status).toBe(404);
        }
        // Untagged only: still there by digest.
        expect((await getManifest(url, repo, other.digest)).status).toBe(200);
      }
    });
  });
});
