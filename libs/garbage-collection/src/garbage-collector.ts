import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDigest, type Digest, splitDigest } from '@berth/oci';
import { mapBounded, pathFor, RegistryStorage } from '@berth/registry-storage';
import { textIfExists } from '@berth/storage-driver';
import { manifestReferences } from './manifest-references';
import { SpilledDigestSet } from './spilled-digest-set';
import { SpillFile } from './spill-file';

export interface GarbageCollectionOptions {
  /** Say what would be removed, remove nothing (`--dry-run`). */
  dryRun: boolean;
  /** Untagged manifests are garbage too, unless a live index or subject keeps them (`--delete-untagged`). */
  deleteUntagged: boolean;
  /** Only the summary lines (`--quiet`). */
  quiet?: boolean;
  /**
   * Where the reference's stdout lines go. What it answers is awaited before more lines come
   * (a promise, when the output is full): a reader slower than the run (a pipe) holds it back,
   * instead of a registry's worth of lines piling up in memory.
   */
  print: (line: string) => unknown;
  /** What is passed over (a revision whose bytes are gone), for stderr. */
  warn?: (line: string) => void;
  /** Uploads and orphaned backend objects last written before this are left behind; default: when the run started. */
  leftoversBefore?: Date;
  /**
   * Also remove the driver's orphans (`purgeOrphans`: Swift's segments no object owns); default
   * true. The filesystem's (temporaries of killed writes) cost a walk of the whole root, which
   * the upload purger makes on its own schedule.
   */
  orphans?: boolean;
  /** Local directory for the spilled mark set; default the OS's temporary directory. */
  workDirectory?: string;
  /** Stops the run; a run stopped before its sweep deletes nothing. */
  signal?: AbortSignal;
}

/** What a run found (with `dryRun`) or removed. */
export interface GarbageCollectionReport {
  dryRun: boolean;
  blobsMarked: number;
  blobs: number;
  /** Bytes of the blobs. */
  blobBytes: number;
  manifests: number;
  layerLinks: number;
  uploads: number;
  uploadBytes: number;
  /** Backend objects no file owns (Swift's segments, the filesystem's temporary files); undefined when the driver has none. */
  orphans?: number;
}

/** Backend requests one phase keeps in flight. */
const PARALLEL = 32;
/** Revisions read per ordered batch: enough to keep {@link PARALLEL} reads busy, few enough to hold. */
const BATCH = 256;
/** Revisions of one repository up to which the first pass's references are kept for the second (with `deleteUntagged`). */
const KEPT_REFERENCES = 4_096;
/** Repositories marked at once (and listed ahead by the walk), their results applied in catalog order. */
const PARALLEL_REPOSITORIES = 16;

/** What marking one repository found, applied (printed, marked, queued) in catalog order. */
interface RepositoryMarks {
  lines: string[];
  marks: Digest[];
  manifests: string[];
  layerLinks: string[];
}

interface RemovableManifest {
  repository: string;
  digest: Digest;
  tags: string[];
}

/**
 * The reference's `registry garbage-collect` (Distribution 2.8's garbagecollect.go and
 * vacuum.go: the same layout, the same lines on stdout), made correct where it loses data:
 *
 * - Liveness is decided per repository from that repository's own manifests: with
 *   `deleteUntagged`, a manifest is live when a tag names it, when a live index names it (at any
 *   depth: distribution#3178), or when its `subject` is live (OCI 1.1 referrers, which the
 *   reference deletes). Every live manifest is expanded, whatever was marked before (the v3
 *   "marked is not traversed" bug), and a repository's layer links are judged against its own
 *   complete live set.
 * - A blob is live when any live manifest of any repository references it (a global mark set).
 * - Fail closed: every walk's error stops the run before anything is deleted; only a
 *   manifest whose bytes are gone (nothing left to keep) is passed over, with a warning.
 *
 * Memory: the mark set is spilled to local disk in 256 buckets per algorithm once it outgrows
 * a fixed buffer (see SpilledDigestSet), what the sweep will delete is spilled to a file
 * likewise; what is held is, for each of the {@link PARALLEL_REPOSITORIES} repositories marked
 * at once, its revisions, tags, layer links and the digests its live manifests reference, and
 * one bucket. So memory grows with the largest repositories and with 1/256 of the blob store,
 * never with the whole registry.
 *
 * It must run with the registry stopped or read-only, as the reference's: a push in progress
 * references blobs no manifest names yet.
 */
export async function collectGarbage(storage: RegistryStorage, options: GarbageCollectionOptions): Promise<GarbageCollectionReport> {
  const started = new Date();
  const work = await mkdtemp(join(options.workDirectory ?? tmpdir(), 'berth-gc-'));
  try {
    const run = new Collection(storage, options, options.leftoversBefore ?? started, work);
    return await run.collect();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

class Collection {
  private readonly report: GarbageCollectionReport;
  private readonly detail: (line: string) => unknown;
  private marks!: SpilledDigestSet;
  private readonly manifests: SpillFile;
  private readonly layerLinks: SpillFile;
  private readonly blobs: SpillFile;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly options: GarbageCollectionOptions,
    private readonly leftoversBefore: Date,
    private readonly work: string,
  ) {
    this.report = { dryRun: options.dryRun, blobsMarked: 0, blobs: 0, blobBytes: 0, manifests: 0, layerLinks: 0, uploads: 0, uploadBytes: 0 };
    this.detail = options.quiet ? () => undefined : options.print;
    this.manifests = new SpillFile(join(work, 'manifests'));
    this.layerLinks = new SpillFile(join(work, 'layer-links'));
    this.blobs = new SpillFile(join(work, 'blobs'));
  }

  async collect(): Promise<GarbageCollectionReport> {
    this.marks = await SpilledDigestSet.create(join(this.work, 'marks'));
    try {
      await this.mark();
    } catch (error) {
      throw new Error(`failed to mark: ${messageOf(error)}`, { cause: error });
    }
    this.stopIfAborted();
    await this.sweep();
    return this.report;
  }

  // ---- mark ----

  /** {@link PARALLEL_REPOSITORIES} repositories in flight; their lines printed in catalog order, as the reference's. */
  private async mark(): Promise<void> {
    const window: Promise<RepositoryMarks>[] = [];
    for await (const repository of this.storage.repositories({ signal: this.options.signal, ahead: PARALLEL_REPOSITORIES })) {
      this.stopIfAborted();
      const marking = this.markRepository(repository);
      // Awaited in turn below; one that fails while an earlier one is awaited is not unhandled.
      marking.catch(() => undefined);
      window.push(marking);
      if (window.length >= PARALLEL_REPOSITORIES) await this.apply(await (window.shift() as Promise<RepositoryMarks>));
    }
    for (let marking = window.shift(); marking !== undefined; marking = window.shift()) await this.apply(await marking);
    this.stopIfAborted();
  }

  private async apply(found: RepositoryMarks): Promise<void> {
    for (const line of found.lines) await this.detail(line);
    for (const digest of found.marks) await this.marks.add(digest);
    for (const line of found.manifests) await this.manifests.append(line);
    for (const line of found.layerLinks) await this.layerLinks.append(line);
  }

  private async markRepository(repository: string): Promise<RepositoryMarks> {
    const found: RepositoryMarks = { lines: [], marks: [], manifests: [], layerLinks: [] };
    const detail = this.options.quiet ? () => undefined : (line: string) => void found.lines.push(line);
    detail(repository);
    // The listings of the tags and of the layer links do not depend on the revisions: asked at
    // once, each repository waits on one round trip less, two with `deleteUntagged`.
    const tagsListed = this.options.deleteUntagged ? this.storage.tags.list(repository) : Promise.resolve(undefined);
    const layerLinksListed = this.layerLinksOf(repository);
    // Awaited below; one that fails while the other listings are awaited is not unhandled.
    tagsListed.catch(() => undefined);
    layerLinksListed.catch(() => undefined);
    const revisions: Digest[] = [];
    for await (const digest of this.storage.revisions.all(repository)) revisions.push(digest);
    let live: Set<Digest> | undefined;
    let tags: string[] = [];
    // What the first pass read, for the second; kept only for a repository small enough to hold it.
    const known = revisions.length <= KEPT_REFERENCES ? new Map<Digest, Digest[] | undefined>() : undefined;
    if (this.options.deleteUntagged) {
      tags = (await tagsListed) ?? [];
      live = await this.liveManifests(repository, revisions, tags, known);
    }
    // What the live manifests of this repository reference: its layer links are judged against it alone.
    const referenced = new Set<Digest>();
    for (let start = 0; start < revisions.length; start += BATCH) {
      const batch = revisions.slice(start, start + BATCH);
      const read = await mapBounded(batch, PARALLEL, (digest) =>
        live !== undefined && !live.has(digest)
          ? Promise.resolve(null)
          : known?.has(digest)
            ? Promise.resolve(known.get(digest))
            : this.references(repository, digest),
      );
      for (const [index, digest] of batch.entries()) {
        const references = read[index];
        if (references === null) {
          detail(`manifest eligible for deletion: ${digest}`);
          found.manifests.push(JSON.stringify({ repository, digest, tags } satisfies RemovableManifest));
          continue;
        }
        detail(`${repository}: marking manifest ${digest} `);
        found.marks.push(digest);
        for (const reference of references ?? []) {
          detail(`${repository}: marking blob ${reference}`);
          found.marks.push(reference);
          referenced.add(reference);
        }
      }
    }
    found.marks.push(...(await this.otherAlgorithmTargets(repository, referenced)));
    for (const digest of await layerLinksListed) {
      if (!referenced.has(digest)) found.layerLinks.push(`${repository} ${digest}`);
    }
    return found;
  }

  private async layerLinksOf(repository: string): Promise<Digest[]> {
    const digests: Digest[] = [];
    for await (const digest of this.storage.linkedBlobs.all(repository)) digests.push(digest);
    return digests;
  }

  /**
   * With `deleteUntagged`: the manifests a tag names, then, to a fixed point, the children of
   * live indexes and the referrers of live manifests, all within the repository (an index's
   * children must be revisions of its repository, as a push checks).
   */
  private async liveManifests(repository: string, revisions: Digest[], tags: string[], known?: Map<Digest, Digest[] | undefined>): Promise<Set<Digest>> {
    const stored = new Set(revisions);
    const currents = await mapBounded(tags, PARALLEL, (tag) =>
      textIfExists(this.storage.driver, pathFor({ kind: 'manifestTagCurrentLink', repository, tag })),
    );
    const children = new Map<Digest, Digest[]>();
    const referrers = new Map<Digest, Digest[]>();
    for (let start = 0; start < revisions.length; start += BATCH) {
      const batch = revisions.slice(start, start + BATCH);
      const read = await mapBounded(batch, PARALLEL, (digest) => this.manifest(repository, digest));
      for (const [index, digest] of batch.entries()) {
        const found = read[index];
        known?.set(digest, found?.references);
        if (found === undefined) continue;
        if (found.children.length > 0) children.set(digest, found.children);
        if (found.subject !== undefined) referrers.set(found.subject, [...(referrers.get(found.subject) ?? []), digest]);
      }
    }
    const live = new Set<Digest>();
    const queue: Digest[] = [];
    const reach = (digest: Digest): void => {
      if (!stored.has(digest) || live.has(digest)) return;
      live.add(digest);
      queue.push(digest);
    };
    for (const current of currents) {
      const checked = current === undefined ? undefined : checkDigest(current);
      if (checked?.ok) reach(checked.digest);
    }
    for (let digest = queue.pop(); digest !== undefined; digest = queue.pop()) {
      for (const child of children.get(digest) ?? []) reach(child);
      for (const referrer of referrers.get(digest) ?? []) reach(referrer);
    }
    return live;
  }

  /** What the revision references; `undefined` when its bytes are gone (nothing left to keep). */
  private async references(repository: string, digest: Digest): Promise<Digest[] | undefined> {
    return (await this.manifest(repository, digest))?.references;
  }

  private async manifest(repository: string, digest: Digest): Promise<ReturnType<typeof manifestReferences> | undefined> {
    const content = await this.storage.blobs.get(digest);
    if (content === undefined) {
      this.options.warn?.(`${repository}: manifest ${digest} has a revision link but no bytes; passed over`);
      return undefined;
    }
    try {
      return manifestReferences(content);
    } catch (error) {
      throw new Error(`${repository}: manifest ${digest} cannot be read: ${messageOf(error)}`);
    }
  }

  /**
   * A layer referenced by a digest of another algorithm (sha512) is stored under its canonical
   * sha256 digest, which its link in the repository names: that digest is live too.
   */
  private async otherAlgorithmTargets(repository: string, referenced: Set<Digest>): Promise<Digest[]> {
    const others = [...referenced].filter((digest) => splitDigest(digest).algorithm !== 'sha256');
    const targets = await mapBounded(others, PARALLEL, (digest) => this.storage.linkedBlobs.target(repository, digest));
    const added: Digest[] = [];
    for (const target of targets) {
      if (target === undefined || referenced.has(target)) continue;
      referenced.add(target);
      added.push(target);
    }
    return added;
  }

  // ---- sweep ----

  private async sweep(): Promise<void> {
    const { dryRun } = this.options;
    this.report.manifests = this.manifests.count;
    if (!dryRun) {
      await this.eachLine(this.manifests, async (line) => {
        const { repository, digest, tags } = JSON.parse(line) as RemovableManifest;
        for (const tag of tags) await this.storage.tags.removeIndexEntry(repository, tag, digest);
        await this.storage.revisions.remove(repository, digest);
      });
    }
    await this.findUnmarkedBlobs();
    this.report.blobsMarked = await this.marks.size();
    await this.options.print(`\n${this.report.blobsMarked} blobs marked, ${this.report.blobs} blobs and ${this.report.manifests} manifests eligible for deletion`);
    await this.eachLine(this.blobs, async (line) => {
      const digest = line.slice(0, line.indexOf(' ')) as Digest;
      await this.detail(`blob eligible for deletion: ${digest}`);
      if (!dryRun) await this.storage.blobs.remove(digest);
    });
    this.report.layerLinks = this.layerLinks.count;
    await this.eachLine(this.layerLinks, async (line) => {
      const [repository, digest] = line.split(' ') as [string, Digest];
      await this.detail(`${repository}: layer link eligible for deletion: ${digest}`);
      if (!dryRun) await this.storage.linkedBlobs.removeLink(repository, digest);
    });
    await this.sweepUploads();
    const { driver } = this.storage;
    if (driver.purgeOrphans && this.options.orphans !== false) {
      const orphans = await driver.purgeOrphans(this.leftoversBefore, { dryRun });
      for (const name of orphans) await this.detail(`orphaned backend object eligible for deletion: ${name}`);
      this.report.orphans = orphans.length;
    }
    await this.options.print(summaryOf(this.report));
  }

  /**
   * Walks the blob store one `<2>` directory at a time (listings ahead) against that bucket of
   * the mark set; the sizes of the unmarked blobs are asked {@link PARALLEL} at a time across
   * directories, not one directory's handful at a time, and recorded in store order.
   */
  private async findUnmarkedBlobs(): Promise<void> {
    let bucketKey = '';
    let bucket = new Map<string, number | undefined>();
    const sizing: { digest: Digest; size: Promise<number | undefined> }[] = [];
    const settleOldest = async (): Promise<void> => {
      const { digest, size: asked } = sizing.shift() as (typeof sizing)[number];
      const size = await asked;
      // Gone since the listing: nothing to remove.
      if (size === undefined) return;
      this.report.blobs++;
      this.report.blobBytes += size;
      await this.blobs.append(`${digest} ${size}`);
    };
    for await (const digests of this.storage.blobs.byDirectory(PARALLEL)) {
      for (const digest of digests) {
        const { algorithm, hex } = splitDigest(digest);
        const key = `${algorithm}/${hex.slice(0, 2)}`;
        if (key !== bucketKey) {
          bucketKey = key;
          bucket = await this.marks.bucket(algorithm, hex.slice(0, 2));
        }
        if (bucket.has(hex)) continue;
        const size = this.storage.blobs.size(digest);
        // Awaited in turn by settleOldest; one that fails while an earlier one is awaited is not unhandled.
        size.catch(() => undefined);
        sizing.push({ digest, size });
        if (sizing.length >= PARALLEL) await settleOldest();
      }
    }
    while (sizing.length > 0) await settleOldest();
  }

  /** Upload sessions left behind: nothing wrote to them since before the run. */
  private async sweepUploads(): Promise<void> {
    for await (const { repository, id } of this.storage.uploads.all({ signal: this.options.signal })) {
      const modified = await this.storage.uploads.modifiedAt(repository, id);
      if (modified === undefined || modified >= this.leftoversBefore) continue;
      const size = (await this.storage.uploads.open(repository, id, false))?.size ?? 0;
      await this.detail(`${repository}: upload eligible for deletion: ${id}`);
      if (!this.options.dryRun && !(await this.storage.uploads.remove(repository, id))) continue;
      this.report.uploads++;
      this.report.uploadBytes += size;
    }
  }

  /** `act` on every line, {@link PARALLEL} at a time, lines printed in order. */
  private async eachLine(file: SpillFile, act: (line: string) => Promise<void>): Promise<void> {
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      await mapBounded(batch, PARALLEL, act);
      batch = [];
    };
    for await (const line of file.lines()) {
      batch.push(line);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  }

  private stopIfAborted(): void {
    if (this.options.signal?.aborted) throw new Error('stopped before the sweep: nothing was deleted');
  }
}

/** The last line: what was (or would be) freed. */
export function summaryOf(report: GarbageCollectionReport): string {
  const bytes = report.blobBytes + report.uploadBytes;
  const parts = [`${report.blobs} blobs (${report.blobBytes} bytes)`, `${report.manifests} manifests`, `${report.layerLinks} layer links`, `${report.uploads} uploads (${report.uploadBytes} bytes)`];
  if (report.orphans !== undefined) parts.push(`${report.orphans} orphaned backend objects`);
  return report.dryRun
    ? `dry run: ${bytes} bytes (${humanBytes(bytes)}) would be freed: ${parts.join(', ')}`
    : `${bytes} bytes (${humanBytes(bytes)}) freed: ${parts.join(', ')}`;
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
