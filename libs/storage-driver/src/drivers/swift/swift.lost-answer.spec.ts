import { createHash, randomBytes } from 'node:crypto';
import { dropContainer, forward, segmentOwners, startHttpRelay, swiftBackend } from '@berth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../factory';

// What a proxy stopped mid-request does to the driver, against the real Swift all-in-one: Swift
// stores a write whose answer never comes back.
const MiB = 1024 * 1024;
const backend = swiftBackend();
const container = `berth-lost-${randomBytes(4).toString('hex')}`;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('swift driver when an answer is lost', () => {
  afterAll(() => dropContainer(backend, container));

  it('a move whose manifest was stored but not answered is done: the segments are named once, and removing the upload leaves the blob whole', { timeout: 60_000 }, async () => {
    const source = '/uploads/lost/data';
    const dest = '/blobs/lost/data';
    const destManifestPut = `/${container}/files${dest}?multipart-manifest=put`;
    let destWrites = 0;
    // Swift through a relay that, for the destination's manifest, lets the first PUT through and
    // drops its answer, then answers every retry 503 as a stopped proxy's balancer would.
    const relay = await startHttpRelay(backend.authurl, (req, res, upstream) => {
      if (req.method !== 'PUT' || !req.url?.endsWith(destManifestPut)) return false;
      if (destWrites++ === 0) {
        forward(req, res, upstream, () => res.socket?.destroy());
      } else {
        req.resume();
        res.writeHead(503).end();
      }
      return true;
    });
    const relayUrl = `${relay.url}${new URL(backend.authurl).pathname}`;
    const driver = createStorageDriver('swift', { ...backend, authurl: relayUrl, container, chunksize: 1 * MiB });
    try {
      const content = randomBytes(2.5 * MiB);
      const writer = await driver.writer(source);
      writer.end(content);
      await writer.commit();

      await driver.move(source, dest);

      expect(destWrites, 'the manifest PUT, then its retries').toBeGreaterThan(1);
      const owners = await segmentOwners(backend, container);
      expect(owners.size, '2.5 MiB in 1 MiB segments').toBe(3);
      for (const [segment, manifests] of owners) expect(manifests, segment).toHaveLength(1);
      // What the registry does once the blob is in place: it removes the upload's directory.
      await driver.delete('/uploads/lost').catch(() => undefined);
      expect(sha256(await driver.getContent(dest))).toBe(sha256(content));
    } finally {
      await relay.close();
    }
  });
});
