import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import {
  type BerthProcess,
  type BerthTopology,
  createTempDir,
  dropContainer,
  freePort,
  type HttpRelay,
  listContainer,
  ociBlobPath,
  type OciImage,
  PrivateSwift,
  type RelayedExchange,
  segmentOwners,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startHttpRelay,
  startIdentityEndpoint,
  type SwiftBackend,
  swiftBackend,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamedRequest, type RequestStep } from '../e2e/support/raw-http';
import { http, pathOf, startUpload, withQuery } from '../e2e/support/registry-client';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** Small segments, so that every blob here spans several and every chunk crosses a segment edge. */
const CHUNKSIZE = 1 * MiB;

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function swiftConfig(backend: SwiftBackend & { tenant?: string }, container: string, port: number): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      swift: { ...backend, container, chunksize: CHUNKSIZE },
      delete: { enabled: true },
      // The tests purge themselves, with the driver: the job must not race them.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}` },
  };
}

async function startBerthOnSwift(backend: SwiftBackend & { tenant?: string }, container: string, topology: BerthTopology = 'all-in-one'): Promise<BerthProcess> {
  return startBerth({ config: swiftConfig(backend, container, await freePort()), topology, readyTimeoutMs: 60_000 });
}

/**
 * One keep-alive connection for every streamed request, as a registry client keeps one: after
 * an answer to a request cut short, the next request must be served on it (or on a new one,
 * when the server closed it), never left hanging.
 */
const oneConnection = new Agent({ keepAlive: true, maxSockets: 1 });

/** `count` parts of `bytes`, in order, each followed by a pause of `pauseMs`. */
function slowly(bytes: Buffer, count: number, pauseMs: number): RequestStep[] {
  const size = Math.ceil(bytes.length / count);
  return Array.from({ length: count }, (_, index) => [bytes.subarray(index * size, (index + 1) * size), () => sleep(pauseMs)]).flat();
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Asserts the answer is an OCI error with `status` and one of `codes`. */
function expectOciAnswer(answer: { status: number; body: string }, status: number, code: string): void {
  expect(answer.status, answer.body).toBe(status);
  expect((JSON.parse(answer.body) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(code);
}

/** Every segment in `container` owned by exactly one manifest: none shared (distribution#2188), none orphaned. */
async function expectEverySegmentOwnedOnce(backend: SwiftBackend, container: string): Promise<void> {
  const owners = await segmentOwners(backend, container);
  expect(owners.size).toBeGreaterThan(0);
  for (const [segment, manifests] of owners) expect(manifests, segment).toHaveLength(1);
}

async function pullAndCompare(work: TempDir, url: string, repo: string, tag: string, source: string, image: OciImage): Promise<void> {
  const dir = join(work.path, `pulled-${randomBytes(4).toString('hex')}`);
  await skopeoCopy(skopeoRef.registry(url, repo, tag), skopeoRef.oci(dir, tag), { preserveDigests: true });
  for (const blob of [image.config, ...image.layers]) {
    const bytes = await readFile(ociBlobPath(dir, blob.digest));
    expect(bytes.equals(await readFile(ociBlobPath(source, blob.digest))), blob.digest).toBe(true);
  }
}

describe('berth on a Swift that fails under it', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-swift-faults-');
  });

  afterAll(async () => {
    oneConnection.destroy();
    await work?.remove();
  });

  describe('the Swift proxy stopped mid-push', () => {
    let swift: PrivateSwift;
    let berth: BerthProcess;
    let driver: StorageDriver;
    let image: OciImage;
    const container = 'berth-faults';
    const repo = 'faults/proxy-stop';

    beforeAll(async () => {
      swift = await PrivateSwift.start();
      berth = await startBerthOnSwift(swift.backend, container);
      driver = createStorageDriver('swift', { ...swift.backend, container, chunksize: CHUNKSIZE });
      image = await writeOciImageLayout(join(work.path, 'proxy-stop'), { tag: 'v1', layers: [{ size: 6 * MiB }, { size: 100_000 }] });
    });

    afterAll(async () => {
      await berth?.stop();
      await swift?.remove();
    });

    const segmentCount = async () => (await listContainer(swift.backend, container)).filter((name) => name.startsWith('segments/')).length;

    it('a PATCH and a final PUT cut by the proxy stopping answer 503 UNAVAILABLE; nothing of them is visible; the retried push pulls identical', async () => {
      const layer = image.layers[0]!;
      const bytes = await readFile(ociBlobPath(join(work.path, 'proxy-stop'), layer.digest));

      // A PATCH: two segments reach Swift, then the proxy stops under the third.
      const patchAt = await startUpload(berth.url, repo);
      const before = await segmentCount();
      const patched = await streamedRequest(berth.url, 'PATCH', patchAt, { 'content-range': `0-${bytes.length - 1}`, 'content-length': bytes.length }, [
        bytes.subarray(0, 2.5 * MiB),
        () => waitFor('two segments in Swift', async () => (await segmentCount()) >= before + 2),
        () => swift.stopProxy(),
        bytes.subarray(2.5 * MiB),
      ], oneConnection);
      expectOciAnswer(patched, 503, 'UNAVAILABLE');
      await swift.startProxy();

      // The closing PUT of a monolithic upload, cut the same way under its fourth segment.
      const putAt = await startUpload(berth.url, repo);
      const beforePut = await segmentCount();
      const put = await streamedRequest(berth.url, 'PUT', withQuery(putAt, { digest: layer.digest }), { 'content-length': bytes.length }, [
        bytes.subarray(0, 3.5 * MiB),
        () => waitFor('three segments in Swift', async () => (await segmentCount()) >= beforePut + 3),
        () => swift.stopProxy(),
        bytes.subarray(3.5 * MiB),
      ], oneConnection);
      expectOciAnswer(put, 503, 'UNAVAILABLE');
      await swift.startProxy();

      // Nothing half-written is visible: no blob, no manifest, no blob object in the container.
      expect((await http(berth.url).head(`/v2/${repo}/blobs/${layer.digest}`)).status).toBe(404);
      expect((await http(berth.url).get(`/v2/${repo}/manifests/v1`)).status).toBe(404);
      expect((await listContainer(swift.backend, container)).filter((name) => name.includes('/blobs/'))).toEqual([]);

      await skopeoCopy(skopeoRef.oci(join(work.path, 'proxy-stop'), 'v1'), skopeoRef.registry(berth.url, repo, 'v1'), { preserveDigests: true });
      await pullAndCompare(work, berth.url, repo, 'v1', join(work.path, 'proxy-stop'), image);

      // The two abandoned uploads, as the purge job removes them, then their stranded segments.
      await driver.delete(`/docker/registry/v2/repositories/${repo}/_uploads`);
      const purged = await driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: false });
      console.log(`[faults] proxy stop: ${purged.length} orphaned segments purged after the two cut uploads`);
      await expectEverySegmentOwnedOnce(swift.backend, container);
      await pullAndCompare(work, berth.url, repo, 'v1', join(work.path, 'proxy-stop'), image);
    });
  });

  describe('tokens that expire mid-upload', () => {
    const tokenLifeSeconds = 3;
    let swift: PrivateSwift;
    const container = 'berth-token-expiry';

    beforeAll(async () => {
      swift = await PrivateSwift.start({ tokenLifeSeconds });
    });

    afterAll(async () => {
      await swift?.remove();
    });

    /**
     * Chunk 1, a pause until Swift refuses the token the driver used for it, chunk 2 sent slowly
     * across a second expiry, then the closing PUT. `relay` sits between berth and Swift.
     */
    async function chunkedUploadAcrossExpiries(berth: BerthProcess, repo: string, relay: HttpRelay): Promise<void> {
      const blob = randomBytes(3.5 * MiB);
      const digest = digestOf(blob);
      const first = await http(berth.url)
        .patch(await startUpload(berth.url, repo))
        .set('Content-Type', 'application/octet-stream')
        .set('Content-Range', `0-${1.5 * MiB - 1}`)
        .send(blob.subarray(0, 1.5 * MiB));
      expect(first.status, first.text).toBe(202);
      await waitFor('Swift to refuse the token chunk 1 was stored with', () => tokenRefused(storageExchanges(relay).at(-1)!), 2 * tokenLifeSeconds * 1000);
      const second = await streamedRequest(
        berth.url,
        'PATCH',
        pathOf(first.headers.location),
        { 'content-range': `${1.5 * MiB}-${3 * MiB - 1}`, 'content-length': 1.5 * MiB },
        slowly(blob.subarray(1.5 * MiB, 3 * MiB), 12, 400),
        oneConnection,
      );
      expect(second.status, second.body).toBe(202);
      const put = await http(berth.url)
        .put(withQuery(pathOf(second.location), { digest }))
        .set('Content-Type', 'application/octet-stream')
        .set('Content-Range', `${3 * MiB}-${blob.length - 1}`)
        .send(blob.subarray(3 * MiB));
      expect(put.status, put.text).toBe(201);
      const pulled = await http(berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
      expect(pulled.status).toBe(200);
      expect(digestOf(pulled.body as Buffer)).toBe(digest);
    }

    /**
     * tempauth hands a user's live token out again with whatever life it has left: started on one
     * of the test before about to die, berth met the death inside chunk 1's segment PUT (a
     * streamed body, which cannot be sent twice: 503), not where the test puts it. Asked of Swift
     * itself for the private Swift's user, the one the identity endpoint asks for.
     */
    async function untilTempauthIssuesAFreshToken(): Promise<void> {
      const { authurl, username, password } = swift.backend;
      const answer = await fetch(authurl, { headers: { 'x-auth-user': username, 'x-auth-key': password } });
      await answer.body?.cancel();
      // Whole seconds, rounded down.
      await sleep((Number(answer.headers.get('x-auth-token-expires') ?? 0) + 1) * 1000);
    }

    /** Asks Swift itself (not through the relay, whose counts the test reads) whether a token is dead. */
    async function tokenRefused(exchange: RelayedExchange): Promise<boolean> {
      const account = exchange.path.split('/').slice(0, 3).join('/');
      const answer = await fetch(new URL(account, swift.backend.authurl), { method: 'HEAD', headers: { 'x-auth-token': exchange.token ?? '' } });
      return answer.status === 401;
    }

    /** The exchanges that carried a token berth had been given by `tokenRequests`' answers. */
    function storageExchanges(relay: HttpRelay): RelayedExchange[] {
      return relay.exchanges.filter((exchange) => exchange.path.startsWith('/v1/'));
    }

    it('tempauth tokens of 3 s: the driver renews them between and during chunks, and the upload verifies', async () => {
      const relay = await startHttpRelay(swift.backend.authurl);
      const berth = await startBerthOnSwift({ ...swift.backend, authurl: `${relay.url}/auth/v1.0` }, container);
      try {
        const tokensBefore = relay.exchanges.filter((exchange) => exchange.path === '/auth/v1.0').length;
        await chunkedUploadAcrossExpiries(berth, 'faults/token-renewed', relay);
        // The upload outlived two tokens: at least two new ones were asked for, and it went on with them.
        const tokens = relay.exchanges.filter((exchange) => exchange.path === '/auth/v1.0');
        expect(tokens.length - tokensBefore).toBeGreaterThanOrEqual(2);
        expect(tokens.every((exchange) => exchange.status === 200)).toBe(true);
        expect(new Set(storageExchanges(relay).map((exchange) => exchange.token)).size).toBeGreaterThanOrEqual(3);
      } finally {
        await berth.stop();
        await relay.close();
      }
    });

    it('tokens that die before the time advertised: Swift refuses them (401), the driver authenticates again, and the upload verifies', async () => {
      // Keystone says an hour; tempauth ends the token after 3 s: only Swift's 401 tells.
      const relay = await startHttpRelay(swift.backend.authurl);
      const identity = await startIdentityEndpoint({ swiftAuthUrl: `${relay.url}/auth/v1.0`, tokenLifetimeSeconds: 3600 });
      const backend = { authurl: identity.v2Url, username: 'admin', password: 'admin', tenant: 'admin' };
      await untilTempauthIssuesAFreshToken();
      const berth = await startBerthOnSwift(backend, container);
      try {
        const before = identity.requests.length;
        await chunkedUploadAcrossExpiries(berth, 'faults/token-refused', relay);
        const refusals = storageExchanges(relay).filter((exchange) => exchange.status === 401);
        // Each expiry was met by a 401, and each 401 by a new token (never the refused one again).
        expect(new Set(refusals.map((exchange) => exchange.token)).size).toBeGreaterThanOrEqual(2);
        expect(identity.requests.length - before).toBeGreaterThanOrEqual(2);
        expect(identity.requests.slice(before).every((request) => request.status === 200)).toBe(true);
        const last = storageExchanges(relay).at(-1)!;
        expect(last.status).toBeLessThan(300);
        expect(refusals.map((exchange) => exchange.token)).not.toContain(last.token);
      } finally {
        await berth.stop();
        await identity.close();
        await relay.close();
      }
    });
  });

  describe('a chunked upload spread over two upload instances', () => {
    let backend: SwiftBackend;
    let berth: BerthProcess;
    const container = `berth-faults-distributed-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      backend = swiftBackend();
      berth = await startBerthOnSwift(backend, container, 'distributed');
    });

    afterAll(async () => {
      await berth?.stop();
      if (backend) await dropContainer(backend, container);
    });

    async function redis(...args: string[]): Promise<string> {
      const [host, port] = (process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379').split(':');
      const { stdout } = await run('redis-cli', ['-h', host!, '-p', port!, '--raw', ...args]);
      return stdout.trim();
    }

    it('PATCHes alternate between the instances, each continuing the same segments; the digest verifies and the blob pulls identical', async () => {
      const repo = 'faults/two-instances';
      const uploads = berth.instances.filter((instance) => instance.service === 'upload');
      expect(uploads).toHaveLength(2);
      const blob = randomBytes(5 * MiB + 4321);
      const chunk = 1.5 * MiB;
      let location = await startUpload(berth.url, repo);
      const id = new URL(location, 'http://placeholder').pathname.split('/').at(-1)!;
      const affinityKey = `${berth.keyPrefix}:upload:affinity:${id}`;
      const takers: string[] = [];
      for (let start = 0, index = 0; start < blob.length; start += chunk, index++) {
        // The gateway sends a session's chunk to the instance that took the last one: point it at the other.
        await redis('SET', affinityKey, uploads[index % 2]!.id!);
        const end = Math.min(start + chunk, blob.length);
        const res = await http(berth.url)
          .patch(location)
          .set('Content-Type', 'application/octet-stream')
          .set('Content-Range', `${start}-${end - 1}`)
          .send(blob.subarray(start, end));
        expect(res.status, res.text).toBe(202);
        takers.push(await redis('GET', affinityKey));
        location = pathOf(res.headers.location);
      }
      expect(takers).toEqual(takers.map((_, index) => uploads[index % 2]!.id));
      const digest = digestOf(blob);
      const put = await http(berth.url).put(withQuery(location, { digest }));
      expect(put.status, put.text).toBe(201);
      const pulled = await http(berth.url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
      expect((pulled.body as Buffer).equals(blob)).toBe(true);
      // One manifest owns the blob's segments: one folder, numbered on from instance to instance,
      // each chunk's in segments of its own (1 MiB and the rest of its 1.5 MiB).
      const owners = await segmentOwners(backend, container);
      const segments = [...owners.keys()].sort();
      const perChunk = takers.map((_, index) => Math.ceil(Math.min(chunk, blob.length - index * chunk) / CHUNKSIZE));
      const expected = perChunk.reduce((sum, count) => sum + count, 0);
      expect(segments.map((name) => Number(name.slice(-16)))).toEqual(Array.from({ length: expected }, (_, index) => index + 1));
      expect(new Set(segments.map((name) => name.slice(0, -17))).size).toBe(1);
      await expectEverySegmentOwnedOnce(backend, container);
    });
  });

  describe('concurrent pushes of one image', () => {
    let backend: SwiftBackend;
    let berth: BerthProcess;
    let driver: StorageDriver;
    let image: OciImage;
    const container = `berth-faults-concurrent-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      backend = swiftBackend();
      berth = await startBerthOnSwift(backend, container);
      driver = createStorageDriver('swift', { ...backend, container, chunksize: CHUNKSIZE });
      image = await writeOciImageLayout(join(work.path, 'concurrent'), { tag: 'v1', layers: [{ size: 3.5 * MiB }, { size: 2.2 * MiB }, { size: 70_000 }] });
    });

    afterAll(async () => {
      await berth?.stop();
      if (backend) await dropContainer(backend, container);
    });

    it('four skopeo copies to one tag at once: all succeed, the image pulls identical, no two manifests share a segment, a purge leaves no orphan', async () => {
      const repo = 'faults/concurrent';
      const source = skopeoRef.oci(join(work.path, 'concurrent'), 'v1');
      await Promise.all(Array.from({ length: 4 }, () => skopeoCopy(source, skopeoRef.registry(berth.url, repo, 'v1'), { preserveDigests: true })));
      await pullAndCompare(work, berth.url, repo, 'v1', join(work.path, 'concurrent'), image);

      const owners = await segmentOwners(backend, container);
      for (const [segment, manifests] of owners) expect(manifests.length, `${segment}: ${manifests.join(', ')}`).toBeLessThanOrEqual(1);
      const orphansBefore = [...owners.values()].filter((manifests) => manifests.length === 0).length;
      const purged = await driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: false });
      expect(purged).toHaveLength(orphansBefore);
      console.log(`[faults] concurrent pushes: ${owners.size} segments, ${purged.length} orphaned by replaced manifests, purged`);
      await expectEverySegmentOwnedOnce(backend, container);
      expect((await listContainer(backend, container)).filter((name) => name.includes('/_uploads/'))).toEqual([]);
      await pullAndCompare(work, berth.url, repo, 'v1', join(work.path, 'concurrent'), image);
    });
  });
});
