import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BerthProcess,
  createTempDir,
  freePort,
  ociBlobPath,
  type OciImage,
  readFixture,
  type ReferenceRegistry,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startReferenceRegistry,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '@berth/testing';
import { dropContainer, listContainer, type SwiftBackend, swiftBackend } from '@berth/testing';

const MiB = 1024 * 1024;
/** The smallest segment the reference accepts: keeps a layer "larger than two segments" small. */
const CHUNKSIZE = 1 * MiB;

/** A listing line with digests, uuids and segment names made generic: the layout's shape. */
function shape(name: string): string {
  return name
    .replace(/^segments\/[0-9a-f]{3}\/[0-9a-f]+\/\d{16}$/, 'segments/<h3>/<h>/<%016d>')
    .replace(/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}/g, 'sha256/<2>/<64>')
    .replace(/sha256\/[0-9a-f]{64}/g, 'sha256/<64>');
}

/**
 * Issue 5's proof: the seed configuration, with only its auth URL and credentials pointed
 * at a local identity endpoint (Keystone v2.0 with a tenant), runs berth on a real Swift;
 * the container then looks as the reference leaves it, and images cross between berth and
 * the reference registry (Debian's docker-registry 2.8) started on the same container.
 */
describe('the seed configuration on a real Swift, with the reference registry on the same container', () => {
  let backend: SwiftBackend;
  let identity: IdentityEndpoint;
  let berth: BerthProcess;
  let reference: ReferenceRegistry;
  let work: TempDir;
  let image: OciImage;
  const container = 'docker_registry';

  beforeAll(async () => {
    backend = swiftBackend();
    await dropContainer(backend, container);
    identity = await startIdentityEndpoint({ swiftAuthUrl: backend.authurl });
    work = await createTempDir('berth-swift-seed-');
    const seed = load(readFixture('seed-config.yml')) as {
      storage: { swift: Record<string, unknown> };
      http: Record<string, unknown>;
    };
    expect(seed.storage.swift.container).toBe(container);
    const config = {
      ...seed,
      storage: { swift: { ...seed.storage.swift, authurl: identity.v2Url, username: 'admin', password: 'admin' } },
      http: { ...seed.http, addr: `127.0.0.1:${await freePort()}` },
    };
    berth = await startBerth({ config, env: { REGISTRY_STORAGE_SWIFT_CHUNKSIZE: String(CHUNKSIZE) }, topology: 'all-in-one' });
    // The reference panics on a v2.0 auth URL (TESTBED.md): it goes to tempauth directly.
    reference = await startReferenceRegistry({
      rootDirectory: work.path,
      extraConfig: {
        storage: { swift: { authurl: backend.authurl, username: backend.username, password: backend.password, container, chunksize: CHUNKSIZE } },
      },
    });
    // One layer of 2.5 segments, one of a part of one, and the config.
    image = await writeOciImageLayout(join(work.path, 'image'), { tag: 'latest', layers: [{ size: 2.5 * MiB }, { size: 70_000 }] });
  });

  afterAll(async () => {
    await berth?.stop();
    await reference?.stop();
    await identity?.close();
    await work?.remove();
    if (backend) await dropContainer(backend, container);
  });

  async function sameBlobs(dir: string, of: OciImage): Promise<void> {
    for (const blob of [of.config, ...of.layers]) {
      const bytes = await readFile(ociBlobPath(dir, blob.digest));
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(blob.digest);
      expect(bytes.equals(await readFile(ociBlobPath(join(work.path, 'image'), blob.digest)))).toBe(true);
    }
  }

  it('pushes busybox:latest through berth and leaves the seed listing\'s shape in the container', async () => {
    await skopeoCopy(skopeoRef.oci(join(work.path, 'image'), 'latest'), skopeoRef.registry(berth.url, 'busybox', 'latest'), { preserveDigests: true });
    const names = await listContainer(backend, container);
    const seedNames = readFixture('seed-swift-listing.txt').split('\n').filter(Boolean);
    expect([...new Set(names.map(shape))].sort()).toEqual([...new Set(seedNames.map(shape))].sort());
    // Config, two layers and the manifest; the layer of 2.5 MiB in three segments, the others in one each.
    expect(names.filter((name) => name.endsWith('/data'))).toHaveLength(4);
    expect(names.filter((name) => name.startsWith('segments/'))).toHaveLength(5);
  });

  it('pulls busybox:latest back byte for byte through berth and through the reference', async () => {
    for (const [label, url] of [['berth', berth.url], ['reference', reference.url]] as const) {
      const dir = join(work.path, `pulled-${label}`);
      await skopeoCopy(skopeoRef.registry(url, 'busybox', 'latest'), skopeoRef.oci(dir, 'latest'), { preserveDigests: true });
      await sameBlobs(dir, image);
    }
  });

  it('pulls through berth what the reference pushed to the same container', async () => {
    const other = await writeOciImageLayout(join(work.path, 'other'), { tag: 'latest', layers: [{ size: 2.2 * MiB }] });
    await skopeoCopy(skopeoRef.oci(join(work.path, 'other'), 'latest'), skopeoRef.registry(reference.url, 'pushed-by-reference', 'latest'), { preserveDigests: true });
    const dir = join(work.path, 'pulled-from-reference-push');
    await skopeoCopy(skopeoRef.registry(berth.url, 'pushed-by-reference', 'latest'), skopeoRef.oci(dir, 'latest'), { preserveDigests: true });
    for (const blob of [other.config, ...other.layers]) {
      const bytes = await readFile(ociBlobPath(dir, blob.digest));
      expect(bytes.equals(await readFile(ociBlobPath(join(work.path, 'other'), blob.digest)))).toBe(true);
    }
  });
});
