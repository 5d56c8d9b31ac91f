import { randomBytes } from 'node:crypto';
import { digestOf } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver } from '@berth/storage-driver';
import { expect, it } from 'vitest';
import { collectGarbage } from './garbage-collector';

it('waits for a print that answers a promise (a full stdout pipe): no more lines wait at once than the sweep acts on', async () => {
  const storage = new RegistryStorage(createStorageDriver('inmemory', {}));
  // Two repositories of an untagged image each: lines while marking and while sweeping.
  for (const repository of ['a', 'b']) {
    const layers = [];
    for (let index = 0; index < 25; index++) {
      const bytes = randomBytes(32);
      await storage.blobs.putIfAbsent(digestOf(bytes), bytes);
      await storage.linkedBlobs.link(repository, digestOf(bytes));
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(bytes), size: 32 });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: layers[0], layers: layers.slice(1) }));
    await storage.blobs.putIfAbsent(digestOf(manifest), manifest);
    await storage.revisions.link(repository, digestOf(manifest));
  }
  const lines: string[] = [];
  let waiting = 0;
  let mostWaiting = 0;
  const report = await collectGarbage(storage, {
    dryRun: true,
    deleteUntagged: true,
    print: async (line) => {
      lines.push(line);
      mostWaiting = Math.max(mostWaiting, ++waiting);
      await new Promise((resolve) => setTimeout(resolve, 1));
      waiting--;
    },
  });
  // More than 100 lines, of which 52 blobs eligible; without the waits all of them would wait at once.
  expect(lines.length).toBeGreaterThan(100);
  expect(mostWaiting).toBeLessThanOrEqual(32);
  expect(waiting).toBe(0);
  expect(report.blobs).toBe(52);
  expect(lines.filter((line) => line.startsWith('blob eligible for deletion: '))).toHaveLength(52);
  expect(lines.at(-1)).toMatch(/^dry run: /);
});
