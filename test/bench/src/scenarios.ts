import { JsonBlob, type BlobContent, SyntheticBlob } from './blob-source';
import type { RegistryClient } from './registry-client';

export interface Measurement {
  readonly scenario: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** The mean of `rounds`. */
  readonly value: number;
  /** Each round's figure, in the order they ran. */
  readonly rounds?: readonly number[];
}

export interface ScenarioSettings {
  /** How long each manifest HEAD/GET loop runs, each round. */
  readonly manifestSeconds: number;
  /** How many times each timed scenario runs on every registry, with blobs of its own each time. */
  readonly rounds: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** One step of the bench; `measure` answers its figure in `round` (undefined: an untimed step). */
export interface Scenario {
  readonly name: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** Run in the first round only: preparation that later rounds need not repeat. */
  readonly once: boolean;
  measure(registry: RegistryClient, round: number): Promise<number | undefined>;
}

/**
 * Every scenario, in a fixed order (the pull reads what the large push wrote), with the same
 * blob contents for every registry and new ones for every round; digests are computed before
 * any clock starts. The bench runs each scenario on every registry before the next scenario,
 * so that a slow spell of the machine weighs on all of them alike.
 */
export function scenarios(settings: ScenarioSettings): Scenario[] {
  const step = (name: string, unit: string, measure: Scenario['measure'], higherIsBetter = true): Scenario => ({
    name,
    unit,
    higherIsBetter,
    once: false,
    measure,
  });
  const perRound = <T>(make: (round: number) => T): T[] => Array.from({ length: settings.rounds }, (_, round) => make(round));
  const warmUp = Array.from({ length: 16 }, () => new SyntheticBlob(MiB));
  const small = perRound(() => Array.from({ length: 128 }, () => new SyntheticBlob(MiB)));
  const large = perRound(() => Array.from({ length: 8 }, () => new SyntheticBlob(64 * MiB)));
  const chunked = perRound(() => new SyntheticBlob(128 * MiB));
  const images = perRound((round) =>
    Array.from({ length: 20 }, (_, index) => ({
      tag: `r${round}-v${index}`,
      layers: Array.from({ length: 25 }, () => new SyntheticBlob(64 * KiB)),
    })),
  );
  /** The manifest each target's loops read, as pushed to it in the warm-up, by the target's URL. */
  const loopManifests = new Map<string, Buffer>();
  const manifestLoops = [1, 16].flatMap((concurrency) =>
    (['HEAD', 'GET'] as const).map((method) =>
      step(`manifest ${method} by tag, ${concurrency} client${concurrency > 1 ? 's' : ''}`, 'req/s', (registry) =>
        ratePerSecond(concurrency, settings.manifestSeconds, () =>
          registry.manifestRequest(method, 'bench/manifests', 'latest', loopManifests.get(registry.baseUrl)!),
        ),
      ),
    ),
  );

  return [
    // Untimed: connections opened, a JIT (berth's V8) given a first pass over the paths, and
    // the image the manifest loops read.
    {
      ...step('warm-up', '', async (registry) => {
        await inParallel(warmUp, 8, (blob) => registry.pushMonolithic('bench/warm-up', blob));
        loopManifests.set(registry.baseUrl, await pushImage(registry, 'bench/manifests', 'latest', [new SyntheticBlob(64 * KiB)]));
        return undefined;
      }),
      once: true,
    },
    step('push 128 × 1 MiB, 8 parallel', 'MiB/s', async (registry, round) =>
      128 / (await timed(() => inParallel(small[round]!, 8, (blob) => registry.pushMonolithic('bench/small', blob)))),
    ),
    step('push 8 × 64 MiB, 4 parallel', 'MiB/s', async (registry, round) =>
      512 / (await timed(() => inParallel(large[round]!, 4, (blob) => registry.pushMonolithic('bench/large', blob)))),
    ),
    step('chunked push 128 MiB in 16 MiB PATCHes', 'MiB/s', async (registry, round) =>
      128 / (await timed(() => registry.pushChunked('bench/chunked', chunked[round]!, 16 * MiB))),
    ),
    // Untimed: each blob read once before the timed pull. Here the first read of files just
    // written was slower than the next for every registry, and far slower (0.3-0.5× the others)
    // for whichever registry read first in its turn; a registry's popular layers are read many
    // times. Every pull, here and timed, compares each byte with those pushed (a fast wrong
    // answer is no answer), as every manifest loop checks each answer against the manifest.
    step('pull warm-up', '', async (registry, round) => {
      await inParallel(large[round]!, 4, (blob) => registry.pullBlob('bench/large', blob));
      return undefined;
    }),
    step('pull 8 × 64 MiB, 4 parallel', 'MiB/s', async (registry, round) =>
      512 / (await timed(() => inParallel(large[round]!, 4, (blob) => registry.pullBlob('bench/large', blob)))),
    ),
    ...manifestLoops,
    step('push 20 images of 25 × 64 KiB layers, 4 parallel', 'images/s', async (registry, round) =>
      20 / (await timed(() => inParallel(images[round]!, 4, (image) => pushImage(registry, 'bench/images', image.tag, image.layers)))),
    ),
  ];
}

/** Layers one after another (as one client pushing one image), then the config, then the manifest. */
export async function pushImage(registry: RegistryClient, repository: string, tag: string, layers: SyntheticBlob[]): Promise<Buffer> {
  for (const layer of layers) await registry.pushMonolithic(repository, layer);
  const config = new JsonBlob({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
  });
  await registry.pushMonolithic(repository, config);
  const descriptor = (blob: BlobContent, mediaType: string) => ({ mediaType, digest: blob.digest, size: blob.size });
  return registry.putManifest(repository, tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
    layers: layers.map((layer) => descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')),
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `work` over `items` with at most `concurrency` in flight; the first failure fails all. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Completed calls per second with `concurrency` loops calling `work` back to back for `seconds`. */
async function ratePerSecond(concurrency: number, seconds: number, work: () => Promise<void>): Promise<number> {
  let completed = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  const loop = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      await work();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return completed / (Number(process.hrtime.bigint() - start) / 1e9);
}
