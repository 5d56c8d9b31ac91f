import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BerthProcess, createTempDir, filesystemRegistryConfig, freePort, type ReferenceRegistry, repoRoot, startBerth, startReferenceRegistry, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { expect } from 'vitest';
import { digestOf, hexOf } from '../e2e/support/media-types';
import { getManifest, http } from '../e2e/support/registry-client';

const run = promisify(execFile);

/** One storage served by berth and by the reference at once: either can write it, both collect it. */
export interface SharedStorage {
  root: string;
  configFile: string;
  berth: BerthProcess;
  reference: ReferenceRegistry;
  work: TempDir;
  stop(): Promise<void>;
}

/**
 * `swift`: the `storage.swift` section to share instead of a filesystem root (berth, the
 * reference and both collectors then all run on that container).
 */
export async function startSharedStorage(options: { swift?: Record<string, unknown> } = {}): Promise<SharedStorage> {
  const work = await createTempDir('berth-gc-');
  const root = join(work.path, 'registry');
  const configFile = join(work.path, 'gc.yml');
  const configOn = (port: number): Record<string, unknown> => {
    const config = filesystemRegistryConfig({ rootDirectory: root, port });
    return options.swift ? { ...config, storage: { swift: options.swift, delete: { enabled: true } } } : config;
  };
  await writeFile(configFile, dump(configOn(await freePort())));
  const [berth, reference] = await Promise.all([
    startBerth({ config: configOn(await freePort()), topology: 'all-in-one' }),
    startReferenceRegistry({ rootDirectory: root, extraConfig: options.swift ? { storage: configOn(0).storage } : {} }),
  ]);
  return {
    root,
    configFile,
    berth,
    reference,
    work,
    stop: async () => {
      await Promise.all([berth.stop(), reference.stop()]);
      await work.remove();
    },
  };
}

export type Flags = { deleteUntagged?: boolean; dryRun?: boolean };

/** What a garbage-collect run printed, as sets. */
export interface GcOutput {
  stdout: string;
  marked: number;
  /** Digests of `manifest eligible for deletion` lines. */
  manifests: string[];
  blobs: string[];
  /** `<repo> <digest>` of `marking manifest` lines. */
  markedManifests: string[];
  layerLinks: string[];
  uploads: string[];
  summary?: string;
}

export function parseGcOutput(stdout: string): GcOutput {
  const output: GcOutput = { stdout, marked: -1, manifests: [], blobs: [], markedManifests: [], layerLinks: [], uploads: [] };
  for (const line of stdout.split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = /^manifest eligible for deletion: (\S+)$/.exec(line))) output.manifests.push(match[1]!);
    else if ((match = /^blob eligible for deletion: (\S+)$/.exec(line))) output.blobs.push(match[1]!);
    else if ((match = /^(\S+): marking manifest (\S+) $/.exec(line))) output.markedManifests.push(`${match[1]} ${match[2]}`);
    else if ((match = /^(\d+) blobs marked, \d+ blobs and \d+ manifests eligible for deletion$/.exec(line))) output.marked = Number(match[1]);
    else if ((match = /^(\S+): layer link eligible for deletion: (\S+)$/.exec(line))) output.layerLinks.push(`${match[1]} ${match[2]}`);
    else if ((match = /^(\S+): upload eligible for deletion: (\S+)$/.exec(line))) output.uploads.push(`${match[1]} ${match[2]}`);
    else if (/bytes .*freed/.test(line)) output.summary = line;
  }
  for (const list of [output.manifests, output.blobs, output.markedManifests, output.layerLinks, output.uploads]) list.sort();
  return output;
}

function args(flags: Flags, configFile: string): string[] {
  return ['garbage-collect', ...(flags.dryRun ? ['--dry-run'] : []), ...(flags.deleteUntagged ? ['--delete-untagged'] : []), configFile];
}

/** `berth garbage-collect` (the build), its output parsed. */
export async function berthGc(storage: SharedStorage, flags: Flags): Promise<GcOutput> {
  const main = join(repoRoot, 'cli/dist/main.js');
  const { stdout } = await run(process.execPath, [main, ...args(flags, storage.configFile)], { maxBuffer: 64 * 1024 * 1024 });
  return parseGcOutput(stdout);
}

/** The same command run and failing: its stderr and exit code. */
export async function berthGcFailing(storage: SharedStorage, flags: Flags): Promise<{ code: number; stderr: string; stdout: string }> {
  const main = join(repoRoot, 'cli/dist/main.js');
  try {
    await run(process.execPath, [main, ...args(flags, storage.configFile)]);
  } catch (error) {
    const failed = error as { code: number; stderr: string; stdout: string };
    return { code: failed.code, stderr: failed.stderr, stdout: failed.stdout };
  }
  throw new Error('berth garbage-collect succeeded');
}

/** Debian's `docker-registry garbage-collect` (Distribution 2.8) on the same storage. */
export async function referenceGc(storage: SharedStorage, flags: Flags): Promise<GcOutput> {
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const { stdout } = await run('docker-registry', args(flags, storage.configFile), { env, maxBuffer: 64 * 1024 * 1024 });
  return parseGcOutput(stdout);
}

export function blobStored(root: string, digest: string): boolean {
  const hex = hexOf(digest);
  return existsSync(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
}

/** The manifest by `reference` and each of `blobs` pull from `url`, byte-identical to their digests. */
export async function expectPulls(url: string, repo: string, reference: string, manifestDigest: string, blobs: readonly string[]): Promise<void> {
  const manifest = await getManifest(url, repo, reference);
  expect(manifest.status, `GET ${repo}:${reference}`).toBe(200);
  expect(digestOf(manifest.body as Buffer)).toBe(manifestDigest);
  for (const digest of blobs) {
    // fetch follows a storage redirect (Swift's TempURL) as clients do.
    const blob = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
    expect(blob.status, `GET ${repo}@${digest}`).toBe(200);
    expect(digestOf(Buffer.from(await blob.arrayBuffer()))).toBe(digest);
  }
}

export async function deleteManifest(url: string, repo: string, reference: string): Promise<void> {
  const res = await http(url).delete(`/v2/${repo}/manifests/${reference}`);
  expect(res.status, res.text).toBe(202);
}
