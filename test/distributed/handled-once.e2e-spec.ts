import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getManifest, pushImage } from '../e2e/support/registry-client';
import { startTopology, type Topology } from './support/topology';

/**
 * DESIGN.md rule 8 on the compose topology itself (1 gateway, 2 upload, 2 manifest, 1 health,
 * each its own process): every request the gateway sends is run by exactly one replica. Each
 * manifest instance logs, at debug level, one line per message it ran, with the message's id.
 */
describe('each request is handled by exactly one replica, on the multi-process topology', () => {
  let topology: Topology;

  beforeAll(async () => {
    topology = await startTopology({ serviceLogLevel: 'debug' });
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it('the manifest instances ran 60 manifest GETs between them, each once, and both took some', async () => {
    const { url, instances } = topology.berth;
    const image = await pushImage(url, 'once/app', 'v1');
    const manifests = instances.filter((instance) => instance.service === 'manifest');
    expect(manifests).toHaveLength(2);
    const watches = manifests.map((instance) => instance.process.watchStderr(/"msg":"handled manifest\.get /));
    const sent = 60;
    try {
      // One at a time (the replica that waited longest takes each), then all at once.
      const answers = [];
      for (let i = 0; i < sent / 3; i++) answers.push(await getManifest(url, 'once/app', 'v1'));
      answers.push(...(await Promise.all(Array.from({ length: (2 * sent) / 3 }, () => getManifest(url, 'once/app', 'v1')))));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect((answer.body as Buffer).equals(image.bytes)).toBe(true);
      }
      // A line is written before its reply is sent; reading the pipes may lag behind.
      const handled = () => watches.reduce((sum, watch) => sum + watch.lines.length, 0);
      for (const deadline = Date.now() + 10_000; handled() < sent && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      for (const watch of watches) watch.stop();
    }
    const ids = watches.flatMap((watch) => watch.lines.map((line) => (JSON.parse(line) as { msg: string }).msg.split(' ')[2]));
    expect(ids).toHaveLength(sent);
    expect(new Set(ids).size).toBe(sent);
    expect(watches.map((watch) => watch.lines.length).every((count) => count > 0), watches.map((watch) => watch.lines.length).join(' + ')).toBe(true);
  });
});
