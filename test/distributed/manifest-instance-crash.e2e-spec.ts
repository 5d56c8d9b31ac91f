import type { BerthInstance } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getManifest, pushImage, putManifest } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

/** How long any one request may take, a replica killed under it or not: a few bus leases, far from the 30 s request timeout. */
const LONGEST_WAIT_MS = 5_000;

describe('a manifest instance killed during a stream of manifest PUTs and GETs', () => {
  let topology: Topology;
  let manifests: BerthInstance[];

  beforeAll(async () => {
    topology = await startTopology();
    manifests = topology.berth.instances.filter((instance) => instance.service === 'manifest');
    expect(manifests).toHaveLength(2);
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it('answers every request correctly, the one the dead instance held included, within a few seconds', async () => {
    const repo = 'distributed/manifest-crash';
    const image = await pushImage(topology.berth.url, repo, 'base');
    const waits: number[] = [];
    const failures: string[] = [];
    let killed = false;
    let requestsAfterKill = 0;

    async function timed<T>(request: () => PromiseLike<T>): Promise<T> {
      const started = Date.now();
      try {
        return await request();
      } finally {
        waits.push(Date.now() - started);
        if (killed) requestsAfterKill += 1;
      }
    }

    // Each client PUTs a manifest of its own under a tag of its own, then GETs it back, over and over.
    async function client(name: string): Promise<void> {
      for (let round = 0; !killed || requestsAfterKill < 60; round++) {
        const tag = `${name}-${round}`;
        const bytes = Buffer.from(JSON.stringify({ ...JSON.parse(image.bytes.toString()), annotations: { tag } }));
        const put = await timed(() => putManifest(topology.berth.url, repo, tag, image.mediaType, bytes));
        if (put.status !== 201) failures.push(`PUT ${tag}: ${put.status} ${put.text}`);
        const get = await timed(() => getManifest(topology.berth.url, repo, tag));
        if (get.status !== 200 || !Buffer.from(get.body as Buffer).equals(bytes)) failures.push(`GET ${tag}: ${get.status}`);
      }
    }

    const clients = Promise.all(['a', 'b', 'c', 'd'].map(client));
    // Kill once both instances have been busy for a while: with four clients, requests are in the victim's hands.
    await waitFor(() => waits.length >= 80);
    manifests[0]!.process.kill('SIGKILL');
    killed = true;
    await clients;

    expect(failures).toEqual([]);
    const longest = Math.max(...waits);
    console.log(`manifest instance killed: ${waits.length} requests, longest wait ${longest} ms`);
    expect(longest).toBeLessThan(LONGEST_WAIT_MS);
  }, 120_000);
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
