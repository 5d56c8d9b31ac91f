import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BerthInstance, type BerthProcess, createTempDir, type DistributedService, type LineWatch, freePort, PrivateRedis, PrivateSwift, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eConfig } from '../e2e/support/registry-under-test';

/**
 * Issue 15's proof: clients push (monolithic and chunked blobs, manifests), tag and pull without
 * pause while the topology loses, in turn, an upload instance, a manifest instance (both SIGKILLed,
 * then replaced as a restart policy would), Redis (SIGKILLed, back empty) and, on Swift, the
 * Swift proxy. The clients behave as real ones: a request answered 502/503/504 or cut is sent
 * again a bounded number of times; a cut chunk is resumed from the upload's status, a cut
 * monolithic upload started again. At the end every acknowledged image pulls byte-identical.
 *
 * 90 s per backend: every kind of fault comes round twice (a fault every 5 s, four kinds at
 * most, each healed within seconds), which is what the proof needs, and pushes go on before,
 * between and after; each backend stays under 5 minutes on 2 cores (about 2.5 in CI). Should
 * faults heal so slowly that two rounds do not fit, the clients go on until they are done,
 * {@link OVERTIME_MS} at most.
 */
const SOAK_MS = 90_000;
const OVERTIME_MS = 60_000;
const FAULT_EVERY_MS = 5_000;
const ROUNDS = 2;
const PUSHERS = 3;
/** Attempts of one request before the client gives up on it (a real client's bounded retry). */
const ATTEMPTS = 8;
/** One attempt may not take longer than the bus's request timeout (30 s): that is a lost request. */
const ATTEMPT_TIMEOUT_MS = 30_000;
/**
 * The longest a request may wait outside a Redis or Swift outage, a replica killed under it or
 * not: a few bus leases (1 s each), as test/distributed/manifest-instance-crash asks.
 */
const LONGEST_WAIT_MS = 5_000;
const KiB = 1024;

/** A fault the test caused, from its start until the topology has healed from it. */
interface Fault {
  readonly kind: 'upload instance killed' | 'manifest instance killed' | 'Redis killed' | 'Swift proxy stopped';
  readonly from: number;
  to: number;
}

/** A request that was not answered as it should be: cut, refused, 5xx, or a wrong status. */
interface FailedAttempt {
  readonly what: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  /** A request with a body in flight (its bytes cannot be replayed by the registry). */
  readonly streamed: boolean;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

interface PushedImage {
  readonly repo: string;
  readonly tags: readonly string[];
  readonly manifest: Buffer;
  readonly blobs: readonly { digest: string; size: number }[];
}

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const retryable = (status: number): boolean => status === 502 || status === 503 || status === 504 || status === 429;

/** What the clients saw: every failed attempt, each request's wait, what they gave up on. */
class Observations {
  readonly failed: FailedAttempt[] = [];
  readonly gaveUp: string[] = [];
  readonly wrongContent: string[] = [];
  longestAttempt = { ms: 0, what: '' };
  longestOperation = { ms: 0, what: '' };
  requests = 0;
  retries = 0;
  /**
   * Every attempt that took longer than {@link LONGEST_WAIT_MS}, to be judged against the
   * outages, with why it failed if it did (the gateway's 503 says which service was silent).
   */
  readonly slowAttempts: { what: string; from: number; to: number; requestId: string; reason?: string }[] = [];
  /** The upload ids whose chunk a slow client is sending right now: where an upload instance is killed. */
  readonly slowChunksInFlight = new Set<string>();
}

type RequestOptions = { body?: Buffer; headers?: Record<string, string>; retry?: boolean; slow?: boolean };

/** Pieces of 16 KiB every 25 ms: a client on a slow link, whose chunk is still in flight when its instance dies. */
function slowly(bytes: Buffer): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    async pull(controller) {
      if (offset >= bytes.length) return controller.close();
      if (offset > 0) await sleep(25);
      controller.enqueue(bytes.subarray(offset, offset + 16 * KiB));
      offset += 16 * KiB;
    },
  });
}

/** A registry client as docker or containerd are: retries bounded, uploads resumed from their status. */
class SoakClient {
  constructor(
    private readonly url: string,
    private readonly record: Observations,
    /** Sends its chunks slowly (see {@link slowly}). */
    private readonly slow = false,
  ) {}

  /** One request, sent again while it is cut or answered 502/503/504, at most {@link ATTEMPTS} times. */
  async send(what: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer | undefined> {
    const started = Date.now();
    try {
      for (let attempt = 1; attempt <= (options.retry === false ? 1 : ATTEMPTS); attempt++) {
        if (attempt > 1) {
          this.record.retries += 1;
          await sleep(Math.min(100 * 2 ** attempt, 2_000));
        }
        const answer = await this.attempt(what, method, path, options);
        if (answer !== undefined && !retryable(answer.status)) return answer;
      }
      if (options.retry !== false) this.record.gaveUp.push(`${what}: ${ATTEMPTS} attempts`);
      return undefined;
    } finally {
      const ms = Date.now() - started;
      if (ms > this.record.longestOperation.ms) this.record.longestOperation = { ms, what };
    }
  }

  private async attempt(what: string, method: string, path: string, options: RequestOptions): Promise<Answer | undefined> {
    const from = Date.now();
    this.record.requests += 1;
    // Its own id (the gateway takes X-Request-Id): a slow attempt's lines can be found in every process's log.
    const requestId = `soak-${this.record.requests}`;
    let failure: string | undefined;
    const failed = (reason: string): undefined => {
      failure = reason;
      this.record.failed.push({ what, from, to: Date.now(), reason, streamed: options.body !== undefined && options.body.length > 0 });
      return undefined;
    };
    try {
      const response = await fetch(new URL(path, this.url), {
        method,
        headers: { ...options.headers, 'x-request-id': requestId },
        ...(options.body !== undefined ? { body: options.slow ? slowly(options.body) : options.body, duplex: 'half' } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const answer = { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
      if (retryable(answer.status)) failed(`${answer.status} ${answer.body.toString().slice(0, 200)}`);
      return answer;
    } catch (error) {
      return failed(`${(error as Error).message}${(error as Error).cause ? `: ${String((error as Error).cause)}` : ''}`);
    } finally {
      const ms = Date.now() - from;
      if (ms > LONGEST_WAIT_MS) this.record.slowAttempts.push({ what, from, to: Date.now(), requestId, reason: failure });
      if (ms > this.record.longestAttempt.ms) this.record.longestAttempt = { ms, what };
    }
  }

  /** Pushes `bytes` as a blob: monolithic (POST, then PUT with the body) or in `chunks` PATCHes. */
  async pushBlob(repo: string, bytes: Buffer, chunks: number): Promise<string | undefined> {
    const digest = digestOf(bytes);
    for (let session = 0; session < 3; session++) {
      const exists = await this.send(`HEAD blob ${digest}`, 'HEAD', `/v2/${repo}/blobs/${digest}`);
      if (exists?.status === 200) return digest;
      const started = await this.send(`POST upload ${repo}`, 'POST', `/v2/${repo}/blobs/uploads/`);
      if (started?.status !== 202) return this.unexpected(`POST upload ${repo}`, started);
      let location = started.headers.get('location')!;
      if (chunks <= 1) {
        const put = await this.send(`PUT monolithic ${digest}`, 'PUT', withDigest(location, digest), {
          body: bytes,
          headers: { 'content-type': 'application/octet-stream' },
          retry: false,
        });
        if (put?.status === 201) return digest;
        if (put !== undefined) return this.unexpected(`PUT monolithic ${digest}`, put);
        continue; // Cut: the body cannot be resumed, a new upload starts (after the HEAD).
      }
      location = (await this.sendChunks(digest, location, bytes, chunks)) ?? '';
      if (location === '') continue;
      const closed = await this.send(`PUT close ${digest}`, 'PUT', withDigest(location, digest));
      if (closed?.status === 201) return digest;
      // A retried close whose first attempt committed finds its session gone: the HEAD tells.
      if (closed?.status !== 404) return this.unexpected(`PUT close ${digest}`, closed);
    }
    this.record.gaveUp.push(`blob ${digest}: 3 upload sessions`);
    return undefined;
  }

  /** The PATCHes; a cut one is resumed from the offset the upload's status gives. The last location, or undefined to start again. */
  private async sendChunks(digest: string, location: string, bytes: Buffer, chunks: number): Promise<string | undefined> {
    const size = Math.ceil(bytes.length / chunks);
    let offset = 0;
    for (let resumes = 0; offset < bytes.length && resumes <= ATTEMPTS; ) {
      const end = Math.min(offset + size, bytes.length) - 1;
      const id = new URL(location, this.url).pathname.split('/').at(-1)!;
      if (this.slow) this.record.slowChunksInFlight.add(id);
      const patched = await this.send(`PATCH ${digest} ${offset}-${end}`, 'PATCH', location, {
        body: bytes.subarray(offset, end + 1),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end}` },
        retry: false,
        slow: this.slow,
      }).finally(() => this.record.slowChunksInFlight.delete(id));
      if (patched?.status === 202) {
        location = patched.headers.get('location')!;
        offset = end + 1;
        continue;
      }
      if (patched !== undefined && patched.status !== 416 && !retryable(patched.status)) return this.unexpected(`PATCH ${digest}`, patched);
      resumes += 1;
      const status = await this.send(`GET upload status ${digest}`, 'GET', location);
      if (status?.status === 404) return undefined; // The session is gone: start again.
      if (status?.status !== 204) return this.unexpected(`GET upload status ${digest}`, status);
      location = status.headers.get('location') ?? location;
      const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
      offset = range ? Number(range[1]) + 1 : 0;
    }
    return offset >= bytes.length ? location : undefined;
  }

  /** Pushes a small image (a config, two layers, one of them chunked) under two tags: PUT then tag. */
  async pushImage(repo: string, name: string): Promise<PushedImage | undefined> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', name, rootfs: { type: 'layers', diff_ids: [] } }));
    const layers = [randomBytes(64 * KiB + Math.floor(Math.random() * 64 * KiB)), randomBytes(512 * KiB + Math.floor(Math.random() * 512 * KiB))];
    const blobs: { digest: string; size: number }[] = [];
    for (const [index, bytes] of [config, ...layers].entries()) {
      const digest = await this.pushBlob(repo, bytes, index === 2 ? 4 : 1);
      if (digest === undefined) return undefined;
      blobs.push({ digest, size: bytes.length });
    }
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blobs[0]! },
        layers: blobs.slice(1).map((blob) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...blob })),
      }),
    );
    const tags = [name, `${name}-tagged`];
    for (const tag of tags) {
      const put = await this.send(`PUT manifest ${repo}:${tag}`, 'PUT', `/v2/${repo}/manifests/${tag}`, { body: manifest, headers: { 'content-type': mediaType } });
      if (put?.status !== 201) return this.unexpected(`PUT manifest ${repo}:${tag}`, put);
    }
    return { repo, tags, manifest, blobs };
  }

  /** Pulls `image` by each tag and checks every byte; false (and recorded) if anything differs. */
  async pull(image: PushedImage): Promise<boolean> {
    for (const tag of image.tags) {
      const manifest = await this.send(`GET manifest ${image.repo}:${tag}`, 'GET', `/v2/${image.repo}/manifests/${tag}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      if (manifest === undefined) return false;
      if (manifest.status !== 200 || !manifest.body.equals(image.manifest)) {
        this.record.wrongContent.push(`${image.repo}:${tag}: ${manifest.status}, ${manifest.body.length} bytes`);
        return false;
      }
    }
    for (const { digest } of image.blobs) {
      const blob = await this.send(`GET blob ${digest}`, 'GET', `/v2/${image.repo}/blobs/${digest}`);
      if (blob === undefined) return false;
      if (blob.status !== 200 || digestOf(blob.body) !== digest) {
        this.record.wrongContent.push(`${image.repo}@${digest}: ${blob.status}, digest ${digestOf(blob.body)}`);
        return false;
      }
    }
    return true;
  }

  private unexpected(what: string, answer: Answer | undefined): undefined {
    if (answer !== undefined) this.record.gaveUp.push(`${what}: unexpected ${answer.status} ${answer.body.toString().slice(0, 200)}`);
    return undefined;
  }
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', digest);
  return `${url.pathname}${url.search}`;
}

/**
 * Why a failed attempt may fail, by design, or undefined when it may not: a body in flight to an
 * upload instance that was killed under it (streamed bytes cannot be replayed), anything while
 * Redis (the bus) or the Swift proxy (the storage) was down. A manifest instance killed costs
 * nothing: its message is taken over after its lease.
 */
function byDesign(attempt: FailedAttempt, faults: readonly Fault[]): string | undefined {
  const during = (fault: Fault): boolean => attempt.from <= fault.to && attempt.to >= fault.from;
  for (const fault of faults.filter(during)) {
    if (fault.kind === 'upload instance killed' && attempt.streamed) return 'body cut by a killed upload instance (resumed from the upload status or restarted)';
    if (fault.kind === 'Redis killed') return 'Redis down (sent again once it is back)';
    if (fault.kind === 'Swift proxy stopped') return 'Swift proxy down (sent again once it is back)';
  }
  return undefined;
}

/**
 * How long a request waited outside every Redis or Swift outage: while the bus or the storage
 * is down a request may wait for its return, but not for a dead replica's lease beyond a few periods.
 */
function waitOutsideOutages(attempt: { from: number; to: number }, faults: readonly Fault[]): number {
  let inside = 0;
  for (const fault of faults.filter((candidate) => candidate.kind === 'Redis killed' || candidate.kind === 'Swift proxy stopped')) {
    inside += Math.max(0, Math.min(attempt.to, fault.to) - Math.max(attempt.from, fault.from));
  }
  return attempt.to - attempt.from - inside;
}

/** Waits until `condition` holds, checking every 100 ms; throws after `timeoutMs`. */
async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

interface Backend {
  readonly name: string;
  storage(): Promise<Record<string, unknown>>;
  readonly swift?: () => PrivateSwift;
  remove(): Promise<void>;
}

function filesystem(): Backend {
  let work: TempDir | undefined;
  return {
    name: 'filesystem',
    storage: async () => {
      work = await createTempDir('berth-soak-');
      return { filesystem: { rootdirectory: `${work.path}/registry` } };
    },
    remove: async () => work?.remove(),
  };
}

function swift(): Backend {
  let server: PrivateSwift | undefined;
  return {
    name: 'swift',
    storage: async () => {
      server = await PrivateSwift.start();
      return { swift: { ...server.backend, container: 'berth-soak', chunksize: 1024 * 1024 } };
    },
    swift: () => server!,
    remove: async () => server?.remove(),
  };
}

const backends = [filesystem(), swift()];

describe.each(backends)('a two-minute soak on $name: instances, Redis and storage fail under continuous pushes and pulls', (backend) => {
  let redis: PrivateRedis;
  let berth: BerthProcess;
  const killed = new Set<BerthInstance>();
  /** Every process's log lines about a soak request (what a process keeps of its log is too short). */
  const requestLines = new Map<BerthInstance, LineWatch>();
  const watchRequests = (instance: BerthInstance): void => void requestLines.set(instance, instance.process.watchStderr(/"soak-\d+"/));

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const storage = await backend.storage();
    const config = e2eConfig('/unused', await freePort());
    berth = await startBerth({
      // Warnings and access lines: a request that waited too long is shown with what each process said about it.
      config: { ...config, log: { level: 'info' }, storage: { ...storage, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } }, redis: { addr: redis.addr } },
      topology: 'distributed',
      readyTimeoutMs: 60_000,
    });
    // A private Swift and seven processes on a loaded machine: well past the default hook timeout.
  }, 240_000);

  afterAll(async () => {
    await berth?.stop();
    await redis?.kill();
    await backend.remove();
  });

  /** The ids announced in Redis for `service`. */
  async function announced(service: DistributedService): Promise<string[]> {
    const ids = await redis.command('ZRANGE', `${berth.keyPrefix}:instances:${service}`, '0', '-1');
    return ids === '' ? [] : ids.split('\n');
  }

  /**
   * SIGKILLs one live instance of `service` (for upload, the one a slow client is sending a
   * chunk to) and starts its replacement; the fault lasts until the dead one is no longer announced.
   */
  async function killInstance(service: 'upload' | 'manifest', record: Observations, faults: Fault[]): Promise<void> {
    let holder: string | undefined;
    if (service === 'upload') {
      await until('a slow chunk in flight', async () => record.slowChunksInFlight.size > 0, 10_000);
      const [id] = record.slowChunksInFlight;
      holder = await redis.command('GET', `${berth.keyPrefix}:upload:affinity:${id}`);
    }
    const live = berth.instances.filter((instance) => instance.service === service && !killed.has(instance));
    const victim = live.find((instance) => instance.id === holder) ?? live[0];
    if (!victim) throw new Error(`no live ${service} instance`);
    const fault: Fault = { kind: `${service} instance killed`, from: Date.now(), to: Number.POSITIVE_INFINITY };
    faults.push(fault);
    victim.process.kill('SIGKILL');
    killed.add(victim);
    watchRequests(await berth.startInstance(service));
    await until(`${victim.id} no longer announced`, async () => !(await announced(service)).includes(victim.id!));
    fault.to = Date.now();
  }

  async function killRedis(faults: Fault[]): Promise<void> {
    const fault: Fault = { kind: 'Redis killed', from: Date.now(), to: Number.POSITIVE_INFINITY };
    faults.push(fault);
    await redis.kill();
    await redis.restart();
    // Healed once every service has announced itself again in the empty Redis.
    await until('every service announced again', async () => (await announced('upload')).length >= 2 && (await announced('manifest')).length >= 2);
    fault.to = Date.now();
  }

  async function stopSwiftProxy(server: PrivateSwift, faults: Fault[]): Promise<void> {
    const fault: Fault = { kind: 'Swift proxy stopped', from: Date.now(), to: Number.POSITIVE_INFINITY };
    faults.push(fault);
    await server.stopProxy();
    await sleep(1_000); // The outage itself: a second of refused connections.
    await server.startProxy();
    fault.to = Date.now();
  }

  it('every acknowledged push pulls byte-identical; only what cannot be retried by design failed', async () => {
    for (const instance of berth.instances) watchRequests(instance);
    const record = new Observations();
    const faults: Fault[] = [];
    const acknowledged: PushedImage[] = [];
    let pullsDuringSoak = 0;
    const deadline = Date.now() + SOAK_MS;
    let faultsDone = false;
    const goOn = (): boolean => Date.now() < deadline || (!faultsDone && Date.now() < deadline + OVERTIME_MS);

    const pusher = async (name: string): Promise<void> => {
      const client = new SoakClient(berth.url, record, name === 'client-0');
      for (let round = 0; round < 1_000 && goOn(); round++) {
        const image = await client.pushImage(`soak/${name}`, `r${round}`);
        if (image) acknowledged.push(image);
        // A pull of an image acknowledged earlier, by anyone.
        const earlier = acknowledged[Math.floor(Math.random() * acknowledged.length)];
        if (earlier && (await client.pull(earlier))) pullsDuringSoak += 1;
      }
    };

    const faultsInTurn = async (): Promise<void> => {
      const kinds = [
        () => killInstance('upload', record, faults),
        () => killInstance('manifest', record, faults),
        () => killRedis(faults),
        ...(backend.swift ? [() => stopSwiftProxy(backend.swift!(), faults)] : []),
      ];
      try {
        for (let turn = 0; turn < 100 && (turn < ROUNDS * kinds.length || Date.now() + FAULT_EVERY_MS < deadline); turn++) {
          await sleep(FAULT_EVERY_MS);
          await kinds[turn % kinds.length]!();
        }
      } finally {
        faultsDone = true;
      }
    };

    await Promise.all([...Array.from({ length: PUSHERS }, (_, index) => pusher(`client-${index}`)), faultsInTurn()]);

    // Every fault healed: every acknowledged image pulls, every byte the same.
    const verifier = new SoakClient(berth.url, record);
    let verified = 0;
    for (const image of acknowledged) if (await verifier.pull(image)) verified += 1;

    const failedByDesign = new Map<string, number>();
    const unexpected: string[] = [];
    for (const attempt of record.failed) {
      const kind = byDesign(attempt, faults);
      if (kind === undefined) unexpected.push(`${attempt.what} (at +${attempt.from - deadline + SOAK_MS} ms): ${attempt.reason}`);
      else failedByDesign.set(kind, (failedByDesign.get(kind) ?? 0) + 1);
    }
    const waitedTooLong = record.slowAttempts
      .map((attempt) => ({ ...attempt, outside: waitOutsideOutages(attempt, faults) }))
      .filter(({ outside }) => outside >= LONGEST_WAIT_MS)
      .map(({ what, from, to, outside, requestId, reason }) => {
        // What every process, the killed ones too, said about it: where the wait was.
        const lines = [...requestLines].flatMap(([{ service, id }, watch]) =>
          watch.lines.filter((line) => line.includes(`"${requestId}"`)).map((line) => `  ${service} ${id ?? ''}: ${line.slice(0, 400)}`),
        );
        return [`${what} (at +${from - deadline + SOAK_MS} ms, ${requestId}): ${to - from} ms, ${outside} ms of it outside any outage${reason === undefined ? '' : `, failed: ${reason}`}`, ...lines].join('\n');
      });
    const faultCounts = new Map<string, number>();
    const longestOutage = new Map<string, number>();
    for (const fault of faults) {
      faultCounts.set(fault.kind, (faultCounts.get(fault.kind) ?? 0) + 1);
      longestOutage.set(fault.kind, Math.max(longestOutage.get(fault.kind) ?? 0, fault.to - fault.from));
    }
    console.log(
      [
        `[soak ${backend.name}] ${Math.round((Date.now() - deadline + SOAK_MS) / 1000)} s, ${PUSHERS} clients: ${acknowledged.length} pushes acknowledged, ${verified} pulled byte-identical at the end, ${pullsDuringSoak} pulls verified during the soak`,
        `[soak ${backend.name}] faults (count, longest until healed): ${[...faultCounts].map(([kind, count]) => `${kind} ×${count} ${longestOutage.get(kind)} ms`).join(', ')}`,
        `[soak ${backend.name}] ${record.requests} requests sent, ${record.retries} retries; failed by design: ${[...failedByDesign].map(([kind, count]) => `${count} ${kind}`).join('; ') || 'none'}`,
        `[soak ${backend.name}] faults in turn: ${faults.map((fault) => `${fault.kind} +${fault.from - deadline + SOAK_MS}..+${fault.to - deadline + SOAK_MS} ms`).join(', ')}`,
        `[soak ${backend.name}] longest wait: one request ${record.longestAttempt.ms} ms (${record.longestAttempt.what}), one operation with its retries ${record.longestOperation.ms} ms (${record.longestOperation.what})`,
      ].join('\n'),
    );

    expect(unexpected, 'requests that failed outside any fault that excuses them').toEqual([]);
    expect(record.gaveUp, 'operations the client gave up on').toEqual([]);
    expect(record.wrongContent, 'pulls that answered other bytes').toEqual([]);
    expect(verified).toBe(acknowledged.length);
    // The soak did what it claims: pushes throughout, every kind of fault at least twice.
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);
    for (const kind of new Set(faults.map((fault) => fault.kind))) expect(faultCounts.get(kind), kind).toBeGreaterThanOrEqual(ROUNDS);
    expect(faultCounts.size).toBe(backend.swift ? 4 : 3);
    expect(waitedTooLong, `requests that waited ${LONGEST_WAIT_MS} ms or more outside a Redis or Swift outage`).toEqual([]);
  }, SOAK_MS + OVERTIME_MS + 120_000);
});
