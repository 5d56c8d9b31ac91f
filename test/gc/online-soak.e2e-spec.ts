import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BerthInstance, type BerthProcess, createTempDir, freePort, PrivateRedis, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eConfig } from '../e2e/support/registry-under-test';

/**
 * Issue 19's soak, bounded: services apart on the filesystem, online collection every second
 * with a 3 s review delay (and `deleteuntagged`), while clients push images, move a shared tag,
 * delete images and pull, and an upload instance and Redis are SIGKILLed in turn (Redis back
 * empty) and replaced. At the end every acknowledged image not deleted pulls byte-identical,
 * and the blob store holds exactly the blobs of those images: everything else (deleted images,
 * images a moved tag left untagged, blobs of pushes given up) was unreferenced for longer than
 * the delay and is gone. About a minute and a half on 2 cores.
 */
const SOAK_MS = 45_000;
const FAULT_EVERY_MS = 8_000;
const CLIENTS = 3;
const ATTEMPTS = 10;
const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Image {
  repo: string;
  tag: string;
  digest: string;
  manifest: Buffer;
  blobs: string[];
}

interface Counts {
  requests: number;
  retried: number;
  refusedByCollection: number;
  repushed: number;
  gaveUp: string[];
  wrong: string[];
}

/** A client as docker is: a request cut or answered 5xx is sent again, a bounded number of times. */
class Client {
  constructor(
    private readonly url: string,
    private readonly counts: Counts,
  ) {}

  /** The answer, and whether an earlier attempt went unanswered (it may have done its work all the same). */
  async send(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer; retried: boolean } | undefined> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (attempt > 1) {
        this.counts.retried += 1;
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
      this.counts.requests += 1;
      try {
        const response = await fetch(new URL(path, this.url), { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(30_000) });
        const answer = { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()), retried: attempt > 1 };
        if (answer.status === 503 && answer.body.toString().includes('garbage collection')) this.counts.refusedByCollection += 1;
        if (answer.status < 500) return answer;
      } catch {
        // Cut (a killed instance): sent again.
      }
    }
    this.counts.gaveUp.push(`${method} ${path}`);
    return undefined;
  }

  /** HEAD, then a monolithic upload; a failed one starts over in a new session. */
  async pushBlob(repo: string, bytes: Buffer): Promise<boolean> {
    const digest = sha256(bytes);
    for (let session = 0; session < 3; session++) {
      if ((await this.send('HEAD', `/v2/${repo}/blobs/${digest}`))?.status === 200) return true;
      const started = await this.send('POST', `/v2/${repo}/blobs/uploads/`);
      if (started?.status !== 202) continue;
      const location = new URL(started.headers.get('location')!, this.url);
      location.searchParams.set('digest', digest);
      const put = await this.send('PUT', location.pathname + location.search, bytes, { 'content-type': 'application/octet-stream' });
      if (put?.status === 201) return true;
    }
    return false;
  }

  async pushImage(repo: string, tag: string): Promise<Image | undefined> {
    const layers = [randomBytes(16 * 1024 + Math.floor(Math.random() * 64 * 1024)), randomBytes(1024)];
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag, rootfs: { type: 'layers', diff_ids: layers.map(sha256) } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length })),
      }),
    );
    // A push that finds a blob gone (MANIFEST_BLOB_UNKNOWN) pushes its blobs again, as a client run again would.
    for (let push = 0; push < 3; push++) {
      for (const blob of [config, ...layers]) if (!(await this.pushBlob(repo, blob))) return undefined;
      const put = await this.send('PUT', `/v2/${repo}/manifests/${tag}`, manifest, { 'content-type': MEDIA_TYPE });
      if (put?.status === 201) return { repo, tag, digest: sha256(manifest), manifest, blobs: [sha256(config), ...layers.map(sha256)] };
      if (put?.status !== 400) break;
      this.counts.repushed += 1;
    }
    this.counts.gaveUp.push(`push ${repo}:${tag}`);
    return undefined;
  }

  async tag(image: Image, tag: string): Promise<boolean> {
    return (await this.send('PUT', `/v2/${image.repo}/manifests/${tag}`, image.manifest, { 'content-type': MEDIA_TYPE }))?.status === 201;
  }

  /**
   * 202, or 404 after an attempt that got no answer: that attempt deleted it, and its answer was
   * lost (Redis killed while the manifest service replied: 503, then 404 on the retry).
   */
  async delete(image: Image): Promise<boolean> {
    const answer = await this.send('DELETE', `/v2/${image.repo}/manifests/${image.digest}`);
    return answer?.status === 202 || (answer?.status === 404 && answer.retried);
  }

  async pulls(image: Image, tag = image.tag): Promise<boolean> {
    const manifest = await this.send('GET', `/v2/${image.repo}/manifests/${tag}`, undefined, { accept: MEDIA_TYPE });
    if (manifest?.status !== 200 || !manifest.body.equals(image.manifest)) {
      this.counts.wrong.push(`${image.repo}:${tag}: ${manifest?.status}`);
      return false;
    }
    for (const digest of image.blobs) {
      const blob = await this.send('GET', `/v2/${image.repo}/blobs/${digest}`);
      if (blob?.status !== 200 || sha256(blob.body) !== digest) {
        this.counts.wrong.push(`${image.repo}@${digest}: ${blob?.status}`);
        return false;
      }
    }
    return true;
  }
}

/** Every blob digest the store holds. */
async function storedBlobs(root: string): Promise<Set<string>> {
  const base = join(root, 'docker/registry/v2/blobs/sha256');
  const found = new Set<string>();
  for (const prefix of await readdir(base).catch(() => [])) for (const hex of await readdir(join(base, prefix))) found.add(`sha256:${hex}`);
  return found;
}

describe('online collection soak: pushes, retags, deletes and pulls while collection runs and an upload instance and Redis die', () => {
  let work: TempDir;
  let redis: PrivateRedis;
  let berth: BerthProcess;
  let root: string;
  const killed = new Set<BerthInstance>();

  beforeAll(async () => {
    work = await createTempDir('berth-gc-soak-');
    redis = await PrivateRedis.start();
    root = join(work.path, 'registry');
    const config = e2eConfig(root, await freePort(), { berth: { gc: { enabled: true, interval: '1s', reviewdelay: '3s', deleteuntagged: true } } });
    berth = await startBerth({
      config: { ...config, log: { level: 'info', accesslog: { disabled: true } }, redis: { addr: redis.addr } },
      topology: 'distributed',
      readyTimeoutMs: 90_000,
    });
  }, 180_000);

  afterAll(async () => {
    await berth?.stop();
    await redis?.kill();
    await work?.remove();
  });

  it('every acknowledged image not deleted pulls byte-identical; every blob unreferenced longer than the delay is gone', async () => {
    const counts: Counts = { requests: 0, retried: 0, refusedByCollection: 0, repushed: 0, gaveUp: [], wrong: [] };
    const live = new Map<string, Image>();
    const deleted: Image[] = [];
    /** The image each client's `latest` names now: the images it moved away from keep their own tag. */
    const latest = new Map<string, Image>();
    const faults: string[] = [];
    const deadline = Date.now() + SOAK_MS;

    const client = async (index: number): Promise<void> => {
      const c = new Client(berth.url, counts);
      const repo = `soak/client-${index}`;
      for (let round = 0; Date.now() < deadline; round++) {
        const image = await c.pushImage(repo, `r${round}`);
        if (image === undefined) continue;
        live.set(`${repo}:${image.tag}`, image);
        if (round % 2 === 0 && (await c.tag(image, 'latest'))) latest.set(repo, image);
        if (round % 3 === 2) {
          // Deletes an older image of its own (never the one `latest` names).
          const victim = [...live.values()].find((candidate) => candidate.repo === repo && candidate !== latest.get(repo) && candidate !== image);
          if (victim && (await c.delete(victim))) {
            live.delete(`${repo}:${victim.tag}`);
            deleted.push(victim);
          }
        }
        const any = [...live.values()][Math.floor(Math.random() * live.size)];
        if (any && !deleted.includes(any)) await c.pulls(any);
      }
    };

    const faultsInTurn = async (): Promise<void> => {
      for (let turn = 0; Date.now() + FAULT_EVERY_MS < deadline; turn++) {
        await sleep(FAULT_EVERY_MS);
        if (turn % 2 === 0) {
          const victim = berth.instances.find((instance) => instance.service === 'upload' && !killed.has(instance));
          if (!victim) continue;
          victim.process.kill('SIGKILL');
          killed.add(victim);
          await berth.startInstance('upload');
          faults.push('upload instance killed');
        } else {
          await redis.kill();
          await redis.restart();
          faults.push('Redis killed');
        }
      }
    };

    await Promise.all([...Array.from({ length: CLIENTS }, (_, index) => client(index)), faultsInTurn()]);
    // Pulls during the soak were of images deleted meanwhile too: only the end counts.
    counts.wrong.length = 0;

    // Past the review delay and a few runs, the store holds what live images reference, nothing else.
    const referenced = new Set([...live.values()].flatMap((image) => [image.digest, ...image.blobs]));
    // Long enough for BullMQ to take back a run whose upload instance was killed mid-run: with the
    // queue's concurrency of 1 no other run starts until its lock (30 s) lapses and the next stalled
    // check (every 30 s) moves it back. A CI run whose last fault hit a running collection waited 40 s in vain.
    const settleDeadline = Date.now() + 90_000;
    let extra: string[] = [];
    for (;;) {
      const stored = await storedBlobs(root);
      extra = [...stored].filter((digest) => !referenced.has(digest));
      if (extra.length === 0 || Date.now() > settleDeadline) break;
      await sleep(500);
    }

    const verifier = new Client(berth.url, counts);
    let verified = 0;
    for (const image of live.values()) if (await verifier.pulls(image)) verified += 1;
    for (const [repo, image] of latest) if (!(await verifier.pulls({ ...image, repo }, 'latest'))) counts.wrong.push(`${repo}:latest`);
    const stored = await storedBlobs(root);
    const missing = [...referenced].filter((digest) => !stored.has(digest));
    const goneOfDeleted = deleted.flatMap((image) => [image.digest, ...image.blobs]).filter((digest) => !stored.has(digest)).length;
    const logged = berth.instances.flatMap((instance) => instance.process.stderr.split('\n'));
    const durations = logged.map((line) => /garbage collection [0-9a-f-]{36} in (\d+) ms/.exec(line)).filter((match) => match !== null).map((match) => Number(match[1]));
    const runs = durations.length;
    const skipped = logged.filter((line) => line.includes('garbage collection skipped')).length;
    const failed = logged.filter((line) => line.includes('garbage-collection failed')).length;

    console.log(
      `soak: ${live.size} images live (${verified} verified), ${deleted.length} deleted (${goneOfDeleted} of their blobs and manifests gone), ` +
        `${stored.size} blobs stored, ${runs} collection runs (${Math.min(...durations)}-${Math.max(...durations)} ms), ${skipped} skipped, ${failed} failed; faults: ${faults.join(', ')}; ${counts.requests} requests, ${counts.retried} retried, ` +
        `${counts.refusedByCollection} refused by a collection (retried), ${counts.repushed} pushes repeated after MANIFEST_BLOB_UNKNOWN`,
    );
    if (extra.length > 0) {
      const lines = berth.instances.flatMap((instance) => instance.process.stderr.split('\n')).filter((line) => line.includes('garbage collection'));
      console.log(`collection lines (last 40 of ${lines.length}):\n${lines.slice(-40).join('\n')}`);
    }
    expect(faults).toEqual(expect.arrayContaining(['upload instance killed', 'Redis killed']));
    expect(counts.wrong).toEqual([]);
    expect(missing).toEqual([]);
    expect(verified).toBe(live.size);
    expect(extra).toEqual([]);
    expect(deleted.length).toBeGreaterThan(0);
    expect(runs).toBeGreaterThan(3);
    expect(counts.gaveUp).toEqual([]);
  }, 240_000);
});
