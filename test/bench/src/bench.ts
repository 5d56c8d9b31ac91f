import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  startBerth,
  startReferenceRegistry,
  type TempDir,
} from '@berth/testing';
import { BenchHttpClient } from './bench-http-client';
import { cpuSeconds, peakRssBytes } from './process-stats';
import { RegistryClient } from './registry-client';
import { formatTable, type TargetResults } from './report-table';
import { measureRegistry, type Measurement } from './scenarios';

const usage = `pnpm bench [-- OPTIONS]: berth against Docker's reference registry, both on the filesystem

  --only NAME       bench only this target (reference, berth or target); repeatable
  --target URL      also bench a running registry at URL (or BERTH_BENCH_TARGET_URL)
  --seconds N       length of each manifest HEAD/GET loop (default 5)
  --json FILE       also write the measurements as JSON`;

interface Target {
  readonly name: string;
  readonly url: string;
  /** The server's process, for memory and CPU; absent for a registry we did not start. */
  readonly pid?: number;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // `pnpm bench -- --only reference` passes the `--` through; it ends nothing here.
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: {
      only: { type: 'string', multiple: true },
      target: { type: 'string' },
      seconds: { type: 'string', default: '5' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const externalUrl = values.target ?? process.env.BERTH_BENCH_TARGET_URL;
  const wanted = new Set(values.only ?? ['reference', 'berth', ...(externalUrl === undefined ? [] : ['target'])]);
  for (const name of wanted) {
    if (!['reference', 'berth', 'target'].includes(name)) throw new Error(`--only ${name}: use reference, berth or target`);
  }
  if (wanted.has('target') && externalUrl === undefined) throw new Error('--only target needs --target URL');
  const manifestSeconds = Number(values.seconds);

  const storage = await createTempDir('berth-bench-');
  const targets: Target[] = [];
  try {
    // Every server starts before any measuring, so a berth that cannot start fails the bench at once.
    if (wanted.has('reference')) targets.push(await startReference(storage));
    if (wanted.has('berth')) targets.push(await startBerthTarget(storage));
    if (wanted.has('target') && externalUrl !== undefined) {
      targets.push({ name: 'target', url: externalUrl.replace(/\/$/, ''), stop: async () => {} });
    }

    const results: TargetResults[] = [];
    for (const target of targets) {
      console.error(`${target.name} at ${target.url}`);
      const http = new BenchHttpClient();
      try {
        const cpuBefore = target.pid === undefined ? 0 : cpuSeconds(target.pid);
        const measurements: Measurement[] = await measureRegistry(new RegistryClient(target.url, http), { manifestSeconds });
        if (target.pid !== undefined) {
          const cpu = cpuSeconds(target.pid) - cpuBefore;
          measurements.push({ scenario: 'server CPU time, whole run', unit: 's', higherIsBetter: false, value: cpu });
          const rss = peakRssBytes(target.pid) / (1024 * 1024);
          measurements.push({ scenario: 'server peak RSS (VmHWM)', unit: 'MiB', higherIsBetter: false, value: rss });
        }
        results.push({ target: target.name, measurements });
      } finally {
        http.close();
      }
    }
    console.log(formatTable(results));
    if (values.json !== undefined) await writeFile(values.json, JSON.stringify(results, null, 2));
  } finally {
    for (const target of targets) await target.stop();
    await storage.remove();
  }
}

async function startReference(storage: TempDir): Promise<Target> {
  const registry = await startReferenceRegistry({ rootDirectory: join(storage.path, 'reference') });
  return { name: 'reference', url: registry.url, pid: registry.process.pid, stop: registry.stop };
}

async function startBerthTarget(storage: TempDir): Promise<Target> {
  const config = filesystemRegistryConfig({ rootDirectory: join(storage.path, 'berth'), port: await freePort() });
  try {
    const berth = await startBerth({ config });
    return { name: 'berth', url: berth.url, pid: berth.pid, stop: berth.stop };
  } catch (error) {
    throw new Error(
      `the bench compares berth with the reference, and berth did not start: ${(error as Error).message}\n` +
        `(to bench the reference alone: pnpm bench --only reference)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
