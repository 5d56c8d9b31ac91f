import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createTempDir, ensureBucket, s3Backend, swiftBackend } from '@berth/testing';
import { type BackendRequestCounts, type CountedBackend, countBackendRequests, formatBackendRequests } from './backend-requests';
import { BenchHttpClient } from './bench-http-client';
import { cpuSeconds, peakRssBytes } from './process-stats';
import { RegistryClient } from './registry-client';
import { formatTable, type TargetResults } from './report-table';
import { type Measurement, type Scenario, scenarios } from './scenarios';
import { type Backend, defaultTargets, S3_BENCH_BUCKET, startedTargets, startTarget, type Target } from './targets';

const usage = `pnpm bench [-- OPTIONS]: berth, all-in-one and distributed, against Docker's reference registry

  --backend NAME    filesystem (default) or swift: every target on the Swift that
                    BERTH_TEST_SWIFT_* name (else test/backends/swift.sh start), a
                    container each, blob pulls redirected to TempURLs; or s3: the same
                    Swift's S3 API (s3api), one bucket, a root directory each, blob
                    pulls redirected to pre-signed URLs
  --only NAME       bench only this target: reference, berth, distributed, reference-htpasswd,
                    berth-htpasswd, berth-logged, berth-metrics, berth-observed or target; repeatable
                    (default: reference, berth and distributed)
  --counts-only     on Swift or S3: only the backend requests per operation, no timed scenario
  --target URL      also bench a running registry at URL (or BERTH_BENCH_TARGET_URL)
  --seconds N       length of each manifest HEAD/GET loop, each round (default 2)
  --rounds N        rounds of every scenario (default: one per registry benched)
  --json FILE       also write the measurements as JSON
  -h, --help        this text

Targets: reference (docker-registry), berth (berth serve, all services in one process),
distributed (1 gateway, 2 upload, 2 manifest, 1 health process over a redis-server of its
own), reference-htpasswd and berth-htpasswd (auth.htpasswd on, one bcrypt cost 10 user,
Basic credentials on every request), berth-logged (its access log on), berth-metrics
(http.debug.prometheus on) and berth-observed (both), each on its own storage with the same
config.yml; ratios are each against the reference, and each berth-* variant also against
berth (what the feature costs).
On Swift and S3, a second table: backend requests per operation (1 MiB and 64 MiB pushes, a
64 MiB push in 16 MiB PATCHes, a blob GET, manifest HEAD and GET by tag) of the reference and
berth, counted by a relay in front of the backend, and berth's driver calls read from its metrics.
Every scenario runs on each registry once per round, the order rotating from round to round;
with as many rounds as registries (the default), each runs it once in every position. Figures
are the rounds' mean; --json keeps each round's.`;

const backends = ['filesystem', 'swift', 's3'] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // `pnpm bench -- --only reference` passes the `--` through; it ends nothing here.
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'filesystem' },
      only: { type: 'string', multiple: true },
      target: { type: 'string' },
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string' },
      json: { type: 'string' },
      'counts-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const backendName = values.backend;
  if (!(backends as readonly string[]).includes(backendName)) throw new Error(`--backend ${backendName}: use ${backends.join(' or ')}`);
  const externalUrl = values.target ?? process.env.BERTH_BENCH_TARGET_URL;
  const known: readonly string[] = [...startedTargets, 'target'];
  const wanted = new Set(values.only ?? [...defaultTargets, ...(externalUrl === undefined ? [] : ['target'])]);
  for (const name of wanted) {
    if (!known.includes(name)) throw new Error(`--only ${name}: use ${known.join(', ')}`);
  }
  if (wanted.has('target') && externalUrl === undefined) throw new Error('--only target needs --target URL');
  const manifestSeconds = Number(values.seconds);

  const scratch = await createTempDir('berth-bench-');
  const backend: Backend = {
    directory: scratch.path,
    ...(backendName === 'swift' ? { swift: swiftBackend() } : {}),
    ...(backendName === 's3' ? { s3: s3Backend() } : {}),
  };
  if (backend.s3 !== undefined) await ensureBucket(backend.s3, S3_BENCH_BUCKET);
  const targets: Target[] = [];
  if (values['counts-only'] === true) {
    const counted = countedBackend(backend);
    if (counted === undefined) throw new Error('--counts-only: counted on Swift or S3 only (--backend swift or s3)');
    try {
      console.log(formatCounts(await countBackendRequests(counted, scratch.path), counted));
    } finally {
      await scratch.remove();
    }
    return;
  }
  try {
    // Every server starts before any measuring, so one that cannot start fails the bench at once.
    for (const name of startedTargets) if (wanted.has(name)) targets.push(await startTarget(name, backend));
    if (wanted.has('target') && externalUrl !== undefined) {
      targets.push({ name: 'target', url: externalUrl.replace(/\/$/, ''), pids: [], stop: async () => {} });
    }

    const rounds = values.rounds === undefined ? targets.length : Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds ?? ''}: a whole number from 1`);
    const results = await measureInTurn(targets, scenarios({ manifestSeconds, rounds }), rounds, backendName);
    console.log(formatTable(results, footnotes(backend, wanted)));
    // What each feature costs: berth with it on against berth without.
    const plain = results.find((result) => result.target === 'berth');
    for (const variant of ['berth-htpasswd', 'berth-logged', 'berth-metrics', 'berth-observed']) {
      const measured = results.find((result) => result.target === variant);
      if (plain && measured) console.log(`\n${formatTable([plain, measured], [], 'berth')}`);
    }
    // Figures that do not depend on the machine's speed: what each operation asks of the backend.
    const counted = countedBackend(backend);
    if (counted !== undefined) console.log(`\n${formatCounts(await countBackendRequests(counted, scratch.path), counted)}`);
    if (values.json !== undefined) await writeFile(values.json, JSON.stringify(results, null, 2));
  } finally {
    for (const target of targets) await target.stop();
    await scratch.remove();
  }
}

function countedBackend(backend: Backend): CountedBackend | undefined {
  if (backend.swift !== undefined) return { kind: 'swift', swift: backend.swift };
  if (backend.s3 !== undefined) return { kind: 's3', s3: backend.s3, bucket: S3_BENCH_BUCKET };
  return undefined;
}

function formatCounts(results: readonly BackendRequestCounts[], counted: CountedBackend): string {
  return formatBackendRequests(results, counted.kind === 'swift' ? 'Swift' : 'S3');
}

/**
 * Each scenario on every target before the next scenario, `rounds` times, the targets' order
 * rotating from one round to the next: the machine's slow spells (other tenants, writeback,
 * reclaim) fall on all targets alike, and with a round per target each runs every scenario
 * once in every position (measured here: whichever ran a scenario first could lose up to half
 * its figure). Server CPU time is summed over the target's own scenarios.
 */
async function measureInTurn(
  targets: readonly Target[],
  steps: readonly Scenario[],
  rounds: number,
  backendName: string,
): Promise<TargetResults[]> {
  const clients = new Map(
    targets.map((target) => [
      target,
      new BenchHttpClient(target.authorization === undefined ? undefined : { origin: new URL(target.url).origin, authorization: target.authorization }),
    ]),
  );
  const measurements = new Map<Target, Measurement[]>(targets.map((target) => [target, []]));
  const cpu = new Map<Target, number>(targets.map((target) => [target, 0]));
  try {
    for (const [index, step] of steps.entries()) {
      const figures = new Map<Target, number[]>(targets.map((target) => [target, []]));
      for (let round = 0; round < (step.once ? 1 : rounds); round++) {
        for (const target of rotated(targets, index + round)) {
          const cpuBefore = sum(target.pids.map(cpuSeconds));
          const value = await step.measure(new RegistryClient(target.url, clients.get(target)!), round);
          cpu.set(target, cpu.get(target)! + sum(target.pids.map(cpuSeconds)) - cpuBefore);
          if (value === undefined) continue;
          console.error(`${target.name} (${backendName}) ${step.name}, round ${round + 1}: ${value.toFixed(1)} ${step.unit}`);
          figures.get(target)!.push(value);
        }
      }
      for (const [target, values] of figures) {
        if (values.length === 0) continue;
        const { name: scenario, unit, higherIsBetter } = step;
        measurements.get(target)!.push({ scenario, unit, higherIsBetter, value: sum(values) / values.length, rounds: values });
      }
    }
  } finally {
    for (const client of clients.values()) client.close();
  }
  return targets.map((target) => {
    const own = measurements.get(target)!;
    if (target.pids.length > 0) {
      own.push({ scenario: 'server CPU time, whole run', unit: 's', higherIsBetter: false, value: cpu.get(target)! });
      const rss = sum(target.pids.map(peakRssBytes)) / (1024 * 1024);
      own.push({ scenario: 'server peak RSS (VmHWM)', unit: 'MiB', higherIsBetter: false, value: rss });
    }
    return { target: target.name, measurements: own };
  });
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const start = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** What the table's figures count, printed beneath it. */
function footnotes(backend: Backend, wanted: ReadonlySet<string>): string[] {
  const notes = [
    backend.s3 !== undefined
      ? `Storage: S3 (Swift's s3api) at ${backend.s3.regionendpoint}, bucket ${S3_BENCH_BUCKET}, a root directory per target; blob pulls follow pre-signed URL redirects on both sides.`
      : backend.swift === undefined
      ? 'Storage: the filesystem, a directory per target.'
      : `Storage: Swift at ${backend.swift.authurl}, a container per target; blob pulls follow TempURL redirects ` +
        '(berth: tempurlcontainerkey: true; the reference keys the container by itself where /info lists tempurl).',
    `Server CPU time and peak RSS count the registry's own processes only${backend.swift === undefined && backend.s3 === undefined ? '' : ', not Swift\'s'}.`,
  ];
  if (wanted.has('distributed')) {
    notes.push(
      'distributed: CPU time and peak RSS are summed over its 7 processes (gateway, 2 upload, 2 manifest, health ' +
        'and its own redis-server); peak RSS is the sum of each process\'s own peak.',
    );
  }
  if (wanted.has('berth-logged')) {
    notes.push('berth-logged: berth with log.level info and its access log on (text formatter), read from its stderr pipe; the others log errors only.');
  }
  if (wanted.has('berth-observed')) {
    notes.push(
      'berth-observed: berth-logged\'s logging and berth-metrics\' metrics together; berth-observed/berth is issue 18\'s "both on against both off", ' +
        'but rates taken one after another swing by more than 5% from round to round: pnpm bench:cost counts it side by side.',
    );
  }
  return notes;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
