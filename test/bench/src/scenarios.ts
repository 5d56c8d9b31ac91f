import { JsonBlob, type BlobContent, SyntheticBlob } from './blob-source';
import type { RegistryClient } from './registry-client';

export interface Measurement {
  readonly scenario: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly value: number;
}

export interface ScenarioSettings {
  /** How long each manifest HEAD/GET loop runs. */
  readonly manifestSeconds: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Every scenario against one registry, in a fixed order (the pull reads what the large push
 * wrote). Blob contents and digests are prepared before each clock starts.
 */
export async function measureRegistry(registry: RegistryClient, settings: ScenarioSettings): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const record = (scenario: string, unit: string, value: number, higherIsBetter = true): void => {
    results.push({ scenario, unit, higherIsBetter, value });
    console.error(`  ${scenario}: ${value.toFixed(1)} ${unit}`);
  };

  // Untimed warm-up: connections opened, and a JIT (berth's V8) given a first pass over the paths.
  await inParallel(Array.from({ length: 16 }, () => new SyntheticBlob(MiB)), 8, (blob) => registry.pushMonolithic('bench/warm-up', blob));
  await pushImage(registry, 'bench/warm-up', 'warm-up', [new SyntheticBlob(64 * KiB)]);

  const small = Array.from({ length: 128 }, () => new SyntheticBlob(MiB));
  const smallSeconds = await timed(() => inParallel(small, 8, (blob) => registry.pushMonolithic('bench/small', blob)));
  record('push 128 × 1 MiB, 8 parallel', 'MiB/s', 128 / smallSeconds);

  const large = Array.from({ length: 8 }, () => new SyntheticBlob(64 * MiB));
  const largeSeconds = await timed(() => inParallel(large, 4, (blob) => registry.pushMonolithic('bench/large', blob)));
  record('push 8 × 64 MiB, 4 parallel', 'MiB/s', 512 / largeSeconds);

  const chunked = new SyntheticBlob(128 * MiB);
  const chunkedSeconds = await timed(() => registry.pushChunked('bench/chunked', chunked, 16 * MiB));
  record('chunked push 128 MiB in 16 MiB PATCHes', 'MiB/s', 128 / chunkedSeconds);

  const pullSeconds = await timed(() => inParallel(large, 4, (blob) => registry.pullBlob('bench/large', blob)));
  record('pull 8 × 64 MiB, 4 parallel', 'MiB/s', 512 / pullSeconds);
  // Outside the clock: the bytes served are the bytes pushed (a fast wrong answer is no answer).
  await registry.pullBlob('bench/large', large[0]!, true);

  await pushImage(registry, 'bench/manifests', 'latest', [new SyntheticBlob(64 * KiB)]);
  for (const concurrency of [1, 16]) {
    for (const method of ['HEAD', 'GET'] as const) {
      const rate = await ratePerSecond(concurrency, settings.manifestSeconds, () =>
        registry.manifestRequest(method, 'bench/manifests', 'latest'),
      );
      record(`manifest ${method} by tag, ${concurrency} client${concurrency > 1 ? 's' : ''}`, 'req/s', rate);
    }
  }

  const images = Array.from({ length: 20 }, (_, index) => ({
    tag: `v${index}`,
    layers: Array.from({ length: 25 }, () => new SyntheticBlob(64 * KiB)),
  }));
  const imageSeconds = await timed(() =>
    inParallel(images, 4, (image) => pushImage(registry, 'bench/images', image.tag, image.layers)),
  );
  record('push 20 images of 25 × 64 KiB layers, 4 parallel', 'images/s', 20 / imageSeconds);

  return results;
}

/** Layers one after another (as one client pushing one image), then the config, then the manifest. */
async function pushImage(registry: RegistryClient, repository: string, tag: string, layers: SyntheticBlob[]): Promise<void> {
  for (const layer of layers) await registry.pushMonolithic(repository, layer);
  const config = new JsonBlob({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
  });
  await registry.pushMonolithic(repository, config);
  const descriptor = (blob: BlobContent, mediaType: string) => ({ mediaType, digest: blob.digest, size: blob.size });
  await registry.putManifest(repository, tag, {
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
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
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
