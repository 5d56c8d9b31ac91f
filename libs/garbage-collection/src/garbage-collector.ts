import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDigest, type Digest, splitDigest } from '@berth/oci';
import { mapBounded, pathFor, RegistryStorage } from '@berth/registry-storage';
import { PathNotFoundError, textIfExists } from '@berth/storage-driver';
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
  /** Collection while serving (see OnlineCollection): only old content is a candidate, and only what the fence condemned goes. */
  online?: OnlineSweep;
}

/** What online collection changes in a run (the README's "Online collection"). */
export interface OnlineSweep {
  /**
   * Storage's date (its `modTime`, never this process's clock) after which content is young:
   * a blob whose data or any layer link, or (with `deleteUntagged`) a revision whose link,
   * storage dates after it is live, whatever references it.
   */
  youngAfter: Date;
  /** The digests of one batch the run may delete now; throws when the run may delete nothing more. */
  condemn(digests: Digest[]): Promise<ReadonlySet<string>>;
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
  /** Online: candidates a write referenced during the run, left in place (counted in neither `blobs`, `manifests` nor `layerLinks`). */
  spared?: number;
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
    const unreferenced: Digest[] = [];
    for (const digest of await layerLinksListed) {
      if (!referenced.has(digest)) unreferenced.push(digest);
    }
    for (const digest of await this.keepYoungLinks(repository, unreferenced, found)) found.layerLinks.push(`${repository} ${digest}`);
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
    // Online: a revision pushed within the review delay is live (a child pushed before its index, a push by digest).
    for (const digest of await this.young(revisions, (digest) => pathFor({ kind: 'manifestRevisionLink', repository, digest }))) reach(digest);
    for (let digest = queue.pop(); digest !== undefined; digest = queue.pop()) {
      for (const child of children.get(digest) ?? []) reach(child);
      for (const referrer of referrers.get(digest) ?? []) reach(referrer);
    }
    return live;
  }

  /**
   * Online: of the layer links no live manifest references, those storage dates within the
   * review delay keep their blob (a blob committed or mounted whose manifest is not pushed yet,
   * even when its data is old); the rest are returned, to be removed.
   */
  private async keepYoungLinks(repository: string, unreferenced: Digest[], found: RepositoryMarks): Promise<Digest[]> {
    if (!this.options.online || unreferenced.length === 0) return unreferenced;
    const young = new Set(await this.young(unreferenced, (digest) => pathFor({ kind: 'layerLink', repository, digest })));
    for (const digest of young) {
      found.marks.push(digest);
      // A link under another algorithm names the canonical blob it keeps.
      if (splitDigest(digest).algorithm !== 'sha256') {
        const target = await this.storage.linkedBlobs.target(repository, digest);
        if (target !== undefined) found.marks.push(target);
      }
    }
    return unreferenced.filter((digest) => !young.has(digest));
  }

  /** Online: those of `digests` whose file at `pathOf` storage dates after `youngAfter` (or cannot date); none offline. */
  private async young(digests: Digest[], pathOf: (digest: Digest) => string): Promise<Digest[]> {
    const online = this.options.online;
    if (!online) return [];
    const dates = await mapBounded(digests, PARALLEL, (digest) => this.modifiedAt(pathOf(digest)));
    return digests.filter((_, index) => {
      const date = dates[index];
      return date !== undefined && date > online.youngAfter;
    });
  }

  /** Storage's date of the file; `undefined` when it is gone. */
  private async modifiedAt(path: string): Promise<Date | undefined> {
    try {
      return (await this.storage.driver.stat(path)).modTime;
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
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
    const { dryRun, online } = this.options;
    this.report.manifests = this.manifests.count;
    if (!dryRun) {
      await this.eachLine(
        this.manifests,
        async (line) => {
          const { repository, digest, tags } = JSON.parse(line) as RemovableManifest;
          for (const tag of tags) await this.storage.tags.removeIndexEntry(repository, tag, digest);
          await this.storage.revisions.remove(repository, digest);
        },
        (line) => (JSON.parse(line) as RemovableManifest).digest,
        'manifests',
      );
    }
    // Online, links go before content: a run stopped between the two leaves no link naming a missing blob.
    if (online) await this.sweepLayerLinks();
    await this.findUnmarkedBlobs();
    this.report.blobsMarked = await this.marks.size();
    await this.options.print(`\n${this.report.blobsMarked} blobs marked, ${this.report.blobs} blobs and ${this.report.manifests} manifests eligible for deletion`);
    await this.eachLine(
      this.blobs,
      async (line) => {
        const digest = line.slice(0, line.indexOf(' ')) as Digest;
        await this.detail(`blob eligible for deletion: ${digest}`);
        if (!dryRun) await this.storage.blobs.remove(digest);
      },
      (line) => line.slice(0, line.indexOf(' ')),
      'blobs',
    );
    if (!online) await this.sweepLayerLinks();
    // Online, uploads in progress are the upload purger's (its own age): a paused client's session is no garbage.
    if (!online) await this.sweepUploads();
    const { driver } = this.storage;
    if (driver.purgeOrphans && this.options.orphans !== false && !online) {
      const orphans = await driver.purgeOrphans(this.leftoversBefore, { dryRun });
      for (const name of orphans) await this.detail(`orphaned backend object eligible for deletion: ${name}`);
      this.report.orphans = orphans.length;
    }
    await this.options.print(summaryOf(this.report));
  }

  private async sweepLayerLinks(): Promise<void> {
    this.report.layerLinks = this.layerLinks.count;
    await this.eachLine(
      this.layerLinks,
      async (line) => {
        const [repository, digest] = line.split(' ') as [string, Digest];
        await this.detail(`${repository}: layer link eligible for deletion: ${digest}`);
        if (!this.options.dryRun) await this.storage.linkedBlobs.removeLink(repository, digest);
      },
      (line) => line.slice(line.indexOf(' ') + 1),
      'layerLinks',
    );
  }

  /**
   * Walks the blob store one `<2>` directory at a time (listings ahead) against that bucket of
   * the mark set; the sizes of the unmarked blobs (online: and their dates) are asked
   * {@link PARALLEL} at a time across directories, not one directory's handful at a time, and
   * recorded in store order.
   */
  private async findUnmarkedBlobs(): Promise<void> {
    let bucketKey = '';
    let bucket = new Map<string, number | undefined>();
    const online = this.options.online;
    const sizing: { digest: Digest; size: Promise<number | undefined> }[] = [];
    const settleOldest = async (): Promise<void> => {
      const { digest, size: asked } = sizing.shift() as (typeof sizing)[number];
      const size = await asked;
      // Gone since the listing, or (online) written within the review delay: nothing to remove.
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
        const size = online ? this.youngOrSize(digest, online.youngAfter) : this.storage.blobs.size(digest);
        // Awaited in turn by settleOldest; one that fails while an earlier one is awaited is not unhandled.
        size.catch(() => undefined);
        sizing.push({ digest, size });
        if (sizing.length >= PARALLEL) await settleOldest();
      }
    }
    while (sizing.length > 0) await settleOldest();
  }

  /** The blob's size, or `undefined` when it is gone or storage dates its data after `youngAfter`. */
  private async youngOrSize(digest: Digest, youngAfter: Date): Promise<number | undefined> {
    try {
      const info = await this.storage.driver.stat(pathFor({ kind: 'blobData', digest }));
      return info.modTime > youngAfter ? undefined : info.size;
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
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

  /**
   * `act` on every line, {@link PARALLEL} at a time, lines printed in order. Online (and not a
   * dry run), each batch's digests (`digestOf` a line) go through the fence first, and only
   * the lines it condemned are acted on; the others are spared, and taken off `counted`.
   */
  private async eachLine(
    file: SpillFile,
    act: (line: string) => Promise<void>,
    digestOf?: (line: string) => string,
    counted?: 'manifests' | 'blobs' | 'layerLinks',
  ): Promise<void> {
    const { online, dryRun } = this.options;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (online && !dryRun && digestOf !== undefined && batch.length > 0) {
        const condemned = await online.condemn([...new Set(batch.map(digestOf))] as Digest[]);
        const spared = batch.filter((line) => !condemned.has(digestOf(line)));
        batch = batch.filter((line) => condemned.has(digestOf(line)));
        this.report.spared = (this.report.spared ?? 0) + spared.length;
        if (counted !== undefined) this.report[counted] -= spared.length;
        if (counted === 'blobs') for (const line of spared) this.report.blobBytes -= Number(line.slice(line.indexOf(' ') + 1));
      }
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
