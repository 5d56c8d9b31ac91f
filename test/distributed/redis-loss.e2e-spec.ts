import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../e2e/support/media-types';
import { getBlob, getManifest, type PushedImage, pushImage, pushIndex } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

/** DESIGN.md rule 1: Redis holds caches, queues and in-flight data; losing it loses no image. */
describe('Redis is a bus, never the truth', () => {
  let topology: Topology;
  const pushed: { repo: string; tag: string; image: PushedImage }[] = [];

  beforeAll(async () => {
    topology = await startTopology();
  });

  afterAll(async () => {
    await topology?.stop();
  });

  async function expectEveryImagePulls(): Promise<void> {
    for (const { repo, tag, image } of pushed) {
      const manifest = await getManifest(topology.berth.url, repo, tag);
      expect(manifest.status, `${repo}:${tag}`).toBe(200);
      expect(Buffer.from(manifest.body as Buffer).equals(image.bytes)).toBe(true);
      for (const blob of [image.config, ...image.layers]) {
        const pulled = await getBlob(topology.berth.url, repo, blob.digest);
        expect(pulled.status, `${repo}@${blob.digest}`).toBe(200);
        expect(digestOf(pulled.body as Buffer), `${repo}@${blob.digest}`).toBe(blob.digest);
      }
    }
  }

  it('after FLUSHALL every image still pulls, and pushes carry on', async () => {
    for (const [repo, tag] of [['loss/one', 'v1'], ['loss/one', 'v2'], ['loss/two', 'latest']] as const) {
      pushed.push({ repo, tag, image: await pushImage(topology.berth.url, repo, tag) });
    }
    const children = pushed.filter(({ repo }) => repo === 'loss/one').map(({ image }) => image);
    await pushIndex(topology.berth.url, 'loss/one', 'multi', children);
    expect(await topology.redis.command('DBSIZE')).not.toBe('0');

    expect(await topology.redis.command('FLUSHALL')).toBe('OK');
    await expectEveryImagePulls();
    expect((await getManifest(topology.berth.url, 'loss/one', 'multi')).status).toBe(200);
    pushed.push({ repo: 'loss/three', tag: 'after-flush', image: await pushImage(topology.berth.url, 'loss/three', 'after-flush') });
    await expectEveryImagePulls();
  });

  it('after Redis restarts empty, the services reconnect: every image pulls, and pushes carry on', async () => {
    await topology.redis.kill();
    await topology.redis.restart();
    await expectEveryImagePulls();
    pushed.push({ repo: 'loss/four', tag: 'after-restart', image: await pushImage(topology.berth.url, 'loss/four', 'after-restart') });
    await expectEveryImagePulls();
  });

  it('with Redis down, every service stops on SIGTERM within the grace docker gives it (10 s)', async () => {
    await topology.redis.kill();
    const ends = topology.berth.instances.map(async ({ service, process }) => {
      process.kill('SIGTERM');
      const timeout = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref());
      const ended = await Promise.race([process.waitForExit().then(() => 'stopped' as const), timeout]);
      return `${service}: ${ended}`;
    });
    expect(await Promise.all(ends)).toEqual(topology.berth.instances.map(({ service }) => `${service}: stopped`));
  });
});
