import { createHash, randomBytes } from 'node:crypto';
import { dropContainer, segmentOwners, swiftBackend } from '@berth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../errors';
import { createStorageDriver, parseDriverParams } from '../../factory';
import type { LargeObjects } from './swift.large-object';
import { SwiftDriver } from './swift.driver';
import type { FileWriter } from '../../storage-driver';

// Races the shared suite meets only by chance, made frequent, against the real Swift all-in-one.
const MiB = 1024 * 1024;
const backend = swiftBackend();
const container = `berth-races-${randomBytes(4).toString('hex')}`;
const driver = createStorageDriver('swift', { ...backend, container, chunksize: 1 * MiB });

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeChunk(writer: FileWriter, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => writer.write(chunk, (error) => (error ? reject(error) : resolve())));
}

describe('swift driver races', () => {
  afterAll(() => dropContainer(backend, container));

  it('putContents racing on one path all succeed and leave one of them whole; the put after them wins', { timeout: 120_000 }, async () => {
    // Swift answers 202 to the PUT that a later-timestamped one beat to the disk.
    for (let round = 0; round < 30; round++) {
      const racing = Array.from({ length: 8 }, (_, i) => `round ${round} link ${i}`);
      await Promise.all(racing.map((content) => driver.putContent('/links/same', Buffer.from(content))));
      expect(racing).toContain((await driver.getContent('/links/same')).toString());
      await driver.putContent('/links/same', Buffer.from(`after round ${round}`));
      expect((await driver.getContent('/links/same')).toString()).toBe(`after round ${round}`);
    }
  });

  it('moves racing to one path all succeed, and no two manifests name one segment', { timeout: 120_000 }, async () => {
    const content = randomBytes(2.5 * MiB);
    for (let round = 0; round < 6; round++) {
      const dest = `/blobs/${round % 2}/data`;
      await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          const source = `/uploads/${round}-${i}/data`;
          const writer = await driver.writer(source);
          writer.end(content);
          await writer.commit();
          await driver.move(source, dest);
        }),
      );
      expect(sha256(await driver.getContent(dest))).toBe(sha256(content));
    }
    const owners = await segmentOwners(backend, container);
    // 2.5 MiB in 1 MiB segments: the two destinations hold three segments each at least.
    expect([...owners.values()].filter((manifests) => manifests.length === 1).length).toBeGreaterThanOrEqual(6);
    for (const [segment, manifests] of owners) {
      expect(manifests.length, `${segment}: ${manifests.join(', ')}`).toBeLessThanOrEqual(1);
    }
  });

  it('a writer cancelled at any moment of its segment upload leaves nothing, and no unhandled error', { timeout: 120_000 }, async () => {
    const orphansOf = () => driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: true });
    // The moves above orphan segments of the manifests they replaced; cancels add none.
    const orphansBefore = await orphansOf();
    // Early cancels abort the segment PUT before the request has taken its body.
    for (let i = 0; i < 30; i++) {
      const path = `/cancelled/${i}`;
      const writer = await driver.writer(path);
      const written = writeChunk(writer, randomBytes([10_000, MiB + 5, 3 * MiB][i % 3]!)).catch(() => undefined);
      if (i % 2 === 0) await written;
      else await new Promise((resolve) => setTimeout(resolve, i % 5));
      await writer.cancel();
      await expect(driver.stat(path)).rejects.toBeInstanceOf(PathNotFoundError);
    }
    await expect(driver.stat('/cancelled')).rejects.toBeInstanceOf(PathNotFoundError);
    expect((await orphansOf()).sort()).toEqual(orphansBefore.sort());
  });

  it('a manifest stored whose answer was lost keeps its segments: the file reads whole', { timeout: 120_000 }, async () => {
    // The soak's Swift proxy stopped between storing a writer's manifest and answering it: the
    // writer took the PUT for failed, deleted the segments it named, and the upload's data (then
    // its blob) was a manifest of missing segments, unreadable for good.
    const parsed = parseDriverParams('swift', { ...backend, container, chunksize: 1 * MiB });
    if (!parsed.ok) throw new Error('bad parameters');
    const swift = new SwiftDriver(parsed.params);
    const objects = await (swift as unknown as { objects(): Promise<LargeObjects> }).objects();
    const store = objects.writeManifest.bind(objects);
    const answerLost: typeof store = async (...args: Parameters<LargeObjects['writeManifest']>) => {
      await (store as (...all: typeof args) => Promise<unknown>)(...args);
      throw new Error('the connection closed before the answer');
    };
    objects.writeManifest = answerLost;
    const content = randomBytes(2.5 * MiB);
    const writer = await swift.writer('/answer-lost/data');
    writer.end(content);
    await expect(writer.commit()).rejects.toThrow(/the connection closed before the answer/);
    objects.writeManifest = store;
    expect(sha256(await swift.getContent('/answer-lost/data'))).toBe(sha256(content));
  });
});
