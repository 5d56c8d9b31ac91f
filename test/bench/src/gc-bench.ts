import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { type Digest, digestOf } from '@berth/oci';
import { mapBounded, RegistryStorage } from '@berth/registry-storage';
import { createStorageDriver } from '@berth/storage-driver';
import { createTempDir, dropContainer, repoRoot, swiftBackend } from '@berth/testing';
import { dump } from 'js-yaml';

const run = promisify(execFile);

const usage = `pnpm bench:gc [-- OPTIONS]: berth garbage-collect against the reference's, on one registry

  --backend NAME     filesystem (default) or swift (the Swift of BERTH_TEST_SWIFT_*)
  --manifests N      images to write (default 1000), in repositories of 10
  --layers N         layers per image (default 9: with its config and manifest, 11 blobs each)
  --keep DIR         write the filesystem registry under DIR and keep it (profiling); a registry
                     already there is measured as it is
  --container NAME   the same for Swift: this container, kept, its registry reused when present
  --runs N           runs of each collector, in turn (default 3): the table gives the median and
                     the spread (the machine is shared: one run says little)
  -h, --help         this text

The registry is written straight into the layout with @berth/registry-storage (no HTTP): half the
images tagged, the other half untagged, a layer in ten shared between two images. Each
collector then runs --dry-run --delete-untagged on it under /usr/bin/time: wall time and peak
RSS. The two must find the same blobs eligible (the layout has no index and no referrer, where
they would differ).`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'filesystem' },
      manifests: { type: 'string', default: '1000' },
      layers: { type: 'string', default: '9' },
      keep: { type: 'string' },
      container: { type: 'string' },
      runs: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(usage);
  const manifests = Number(values.manifests);
  const layers = Number(values.layers);
  const scratch = await createTempDir('berth-gc-bench-');
  const container = values.container ?? `berth-gc-bench-${randomBytes(4).toString('hex')}`;
  const runs = Number(values.runs);
  const swift = values.backend === 'swift' ? swiftBackend() : undefined;
  const storage = swift
    ? { swift: { authurl: swift.authurl, username: swift.username, password: swift.password, container } }
    : { filesystem: { rootdirectory: join(values.keep ?? scratch.path, 'registry') } };
  try {
    const configFile = join(scratch.path, 'config.yml');
    await writeFile(configFile, dump({ version: '0.1', log: { level: 'error' }, storage: { ...storage, delete: { enabled: true } }, http: { addr: '127.0.0.1:0' } }));
    const driver = swift
      ? createStorageDriver('swift', { authurl: swift.authurl, username: swift.username, password: swift.password, container })
      : createStorageDriver('filesystem', { rootdirectory: join(values.keep ?? scratch.path, 'registry') });
    await driver.ready?.();
    const began = Date.now();
    const registry = new RegistryStorage(driver);
    let blobs: number;
    if ((values.keep ?? values.container) !== undefined && !(await registry.repositories().next()).done) {
      blobs = 0;
      for await (const digests of registry.blobs.byDirectory(32)) blobs += digests.length;
      console.error(`measuring the registry already there: ${blobs} blobs (${values.backend})`);
    } else {
      // Swift's all-in-one on a loaded machine answers 503 and 401 (its memcache times out) under 32 writers.
      blobs = await writeRegistry(registry, manifests, layers, swift ? 8 : 32);
      console.error(`wrote ${blobs} blobs in ${manifests} manifests (${values.backend}) in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    }

    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    const measure = async (command: string, argv: string[]): Promise<Measured> => {
      const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'TIME %e %M', command, ...argv], { env, maxBuffer: 1024 * 1024 * 1024 });
      const [, seconds, kib] = /TIME ([\d.]+) (\d+)/.exec(stderr) ?? [];
      const eligible = Number(/(\d+) blobs and \d+ manifests eligible/.exec(stdout)?.[1] ?? NaN);
      return { seconds: Number(seconds), peakMiB: Number(kib) / 1024, eligible };
    };
    const gcArgs = ['garbage-collect', '--dry-run', '--delete-untagged', configFile];
    const reference: Measured[] = [];
    const berth: Measured[] = [];
    for (let run = 0; run < runs; run++) {
      reference.push(await measure('docker-registry', gcArgs));
      berth.push(await measure(process.execPath, [join(repoRoot, 'cli/dist/main.js'), ...gcArgs]));
      console.error(`run ${run + 1}: reference ${reference[run]?.seconds} s, berth ${berth[run]?.seconds} s`);
    }
    const seconds = (measured: Measured[]): number[] => measured.map((each) => each.seconds);
    const peaks = (measured: Measured[]): number[] => measured.map((each) => each.peakMiB);
    const ratios = berth.map((each, run) => each.seconds / (reference[run] as Measured).seconds);
    console.log(`garbage-collect --dry-run --delete-untagged, ${blobs} blobs in ${manifests} manifests on ${values.backend}, ${runs} runs each: median (min–max)`);
    console.log('| collector | time (s) | peak RSS (MiB) | blobs eligible |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| reference (docker-registry 2.8) | ${spread(seconds(reference), 2)} | ${spread(peaks(reference), 0)} | ${reference[0]?.eligible} |`);
    console.log(`| berth | ${spread(seconds(berth), 2)} | ${spread(peaks(berth), 0)} | ${berth[0]?.eligible} |`);
    console.log(`| berth/reference, run by run | ${spread(ratios, 2)} | | |`);
    for (const measured of [...reference, ...berth]) {
      if (measured.eligible !== reference[0]?.eligible) throw new Error(`the collectors disagree: ${reference[0]?.eligible} against ${measured.eligible} blobs eligible`);
    }
  } finally {
    if (swift && values.container === undefined) await dropContainer(swift, container).catch(() => undefined);
    await scratch.remove();
  }
}

interface Measured {
  seconds: number;
  peakMiB: number;
  eligible: number;
}

/** `median (min–max)` of `values`, with `digits` decimals. */
function spread(values: number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 === 1 ? (sorted[(sorted.length - 1) / 2] as number) : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return `${median.toFixed(digits)} (${(sorted[0] as number).toFixed(digits)}–${(sorted[sorted.length - 1] as number).toFixed(digits)})`;
}

/** `manifests` images of `layers` layers each, 10 per repository, half tagged; returns the number of blobs written. */
async function writeRegistry(storage: RegistryStorage, manifests: number, layers: number, writers: number): Promise<number> {
  let blobs = 0;
  let previousLayer: { digest: Digest; size: number } | undefined;
  const images = Array.from({ length: manifests }, (_, index) => index);
  await mapBounded(images, writers, async (index) => {
    const repository = `bench/repo-${String(Math.floor(index / 10)).padStart(4, '0')}`;
    const parts: { digest: Digest; size: number }[] = [];
    for (let layer = 0; layer <= layers; layer++) {
      // A layer in ten is the previous image's: shared between a live and a collected image.
      if (layer === 1 && index % 10 === 5 && previousLayer) {
        await storage.linkedBlobs.link(repository, previousLayer.digest);
        parts.push(previousLayer);
        continue;
      }
      const bytes = randomBytes(256);
      const digest = digestOf(bytes);
      await storage.blobs.putIfAbsent(digest, bytes);
      await storage.linkedBlobs.link(repository, digest);
      parts.push({ digest, size: bytes.length });
      blobs++;
    }
    previousLayer = parts[1];
    const [config, ...rest] = parts as [{ digest: Digest; size: number }, ...{ digest: Digest; size: number }[]];
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: rest.map((part) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...part })),
      }),
    );
    const digest = digestOf(manifest);
    await storage.blobs.putIfAbsent(digest, manifest);
    await storage.revisions.link(repository, digest);
    if (index % 2 === 0) await storage.tags.tag(repository, `v${index}`, digest);
    blobs++;
  });
  return blobs;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
