import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError, StorageDriverError } from '../../errors';
import type { DriverParams } from '../../params';
import { ROOT_PATH } from '../../path';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { SwiftAuth } from './swift.auth';
import { encodePath, type ListingEntry, listingTime, SwiftClient, SwiftStatusError } from './swift.client';
import { type HttpResponse, SwiftHttp } from './swift.http';
import { DEFAULT_MAX_OBJECT_NAME_LENGTH, parseSegmentName, segmentName, SwiftLayout } from './swift.layout';
import {
  CONTENT_TYPE,
  type ClusterFeatures,
  inParallel,
  LargeObjects,
  type Segment,
  type StoredObject,
  type WriteOutcome,
  writeOutcome,
} from './swift.large-object';
import { purgeOrphanSegments } from './swift.orphans';
import { TempUrlSigner } from './swift.tempurl';
import { SwiftWriter } from './swift.writer';

type SwiftParams = DriverParams<'swift'>;

/** What the driver learns once from the cluster before its first call. */
interface OpenedDriver {
  objects: LargeObjects;
  signer: TempUrlSigner | undefined;
}

/**
 * OpenStack Swift, in the reference driver's layout (`files/…`, `segments/…`) so that the
 * reference registry and berth can serve one container. Unlike the reference it commits
 * large objects as SLOs where the cluster has them (ETag-checked, no waiting on listings)
 * and never lets two manifests name the same segments (distribution#2188).
 */
export class SwiftDriver implements StorageDriver {
  readonly name = 'swift';
  private readonly http: SwiftHttp;
  private readonly client: SwiftClient;
  private readonly layout: SwiftLayout;
  private opening: Promise<OpenedDriver> | undefined;

  constructor(private readonly params: SwiftParams) {
    this.http = new SwiftHttp({ insecureSkipVerify: params.insecureskipverify ?? false });
    this.client = new SwiftClient(this.http, new SwiftAuth(params, this.http), params.container);
    this.layout = new SwiftLayout(params.prefix);
  }

  async ready(): Promise<void> {
    await this.open();
  }

  /**
   * Authenticates, reads `/info`, creates the container when missing, and sets up TempURL
   * keys. Runs once; after a failure the next call tries again (Swift may come back).
   */
  open(): Promise<OpenedDriver> {
    if (this.opening === undefined) {
      const pending = this.openOnce();
      pending.catch(() => {
        if (this.opening === pending) this.opening = undefined;
      });
      this.opening = pending;
    }
    return this.opening;
  }

  /**
   * Removes the segments that no manifest owns, in folders last written before `olderThan`:
   * those of writers that failed without cleaning up (a crash, Swift gone mid-write) and of
   * manifests replaced under concurrent writers. See `purgeOrphanSegments` for the guard.
   */
  async purgeOrphans(olderThan: Date, options: { dryRun: boolean }): Promise<string[]> {
    const objects = await this.objects();
    return purgeOrphanSegments(this.client, objects, {
      filesPrefix: this.layout.directoryPrefix(ROOT_PATH),
      segmentsPrefix: this.layout.segmentsPrefix(),
      olderThan,
      dryRun: options.dryRun,
    });
  }

  async getContent(path: string): Promise<Buffer> {
    await this.open();
    const name = this.layout.objectName(path);
    const response = await this.getObject(name);
    if (response.status === 404) {
      await response.body.dump();
      throw new PathNotFoundError(path, this.name);
    }
    const body = Buffer.from(await response.body.arrayBuffer());
    if (response.status !== 200) throw new SwiftStatusError(response.status, `GET ${name}`);
    return body;
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    await this.open();
    const name = this.layout.objectName(path);
    // Swift checks the ETag against what it received: a body damaged on the way is refused (422).
    const etag = createHash('md5').update(content).digest('hex');
    const response = await this.client.object('PUT', name, {
      body: Buffer.from(content),
      headers: { 'content-type': CONTENT_TYPE, etag },
    });
    await response.body.dump();
    // Superseded by a concurrent putContent of the path: the later one's content stays, as on any driver.
    if (writeOutcome(response.status) === undefined) throw new SwiftStatusError(response.status, `PUT ${name}`);
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    await this.open();
    const name = this.layout.objectName(path);
    const response = await this.getObject(name, offset > 0 ? { range: `bytes=${offset}-` } : {});
    if (response.status === 200 || response.status === 206) return response.body;
    await response.body.dump();
    if (response.status === 404) throw new PathNotFoundError(path, this.name);
    if (response.status === 416) {
      // Swift refuses a range that starts at the end; the contract wants an empty stream there.
      const stored = await this.objects().then((objects) => objects.head(name));
      if (stored === undefined) throw new PathNotFoundError(path, this.name);
      if (stored.size === offset) return Readable.from([]);
      throw new InvalidOffsetError(path, offset, this.name);
    }
    throw new SwiftStatusError(response.status, `GET ${name}`);
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const objects = await this.objects();
    const objectName = this.layout.objectName(path);
    const base = { path, objectName, chunkSize: this.params.chunksize };
    const newFolder = () => this.layout.newSegmentFolder(path, objects.features.maxObjectNameLength);
    if (!options.append) {
      // What the writer replaces is read at commit, and only when something is there.
      return new SwiftWriter(this.client, objects, { ...base, inherited: [], folder: newFolder(), firstNumber: 1, replaced: undefined });
    }
    const stored = await objects.manifestOf(objectName);
    if (stored === undefined) throw new PathNotFoundError(path, this.name);
    if (stored.kind === 'plain') {
      const folder = newFolder();
      // A plain object (putContent, or a writer that wrote nothing) becomes the first segment, as in the reference.
      const inherited = stored.size === 0 ? [] : [await this.copyToSegment(objectName, segmentName(folder, 1))];
      return new SwiftWriter(this.client, objects, { ...base, inherited, folder, firstNumber: inherited.length + 1, replaced: [] });
    }
    const inherited = stored.segments;
    const last = parseSegmentName(inherited[inherited.length - 1]?.name ?? '');
    const continued = last === undefined ? { folder: newFolder(), firstNumber: 1 } : { folder: last.folder, firstNumber: last.number + 1 };
    return new SwiftWriter(this.client, objects, { ...base, inherited, ...continued, replaced: [] });
  }

  async stat(path: string): Promise<FileInfo> {
    const objects = await this.objects();
    if (path === ROOT_PATH) return this.statContainer();
    const stored = await objects.head(this.layout.objectName(path));
    if (stored !== undefined) return { path, isDir: false, size: stored.size, modTime: stored.modTime };
    // Directories are implied by the names below them.
    for await (const entry of this.client.list(this.layout.directoryPrefix(path), { pageSize: 1 })) {
      return { path, isDir: true, size: 0, modTime: listingTime(entry) };
    }
    throw new PathNotFoundError(path, this.name);
  }

  /**
   * The root is the container, asked of Swift every time: the health check stats `/` to learn
   * whether the backend answers, as the reference's stat (a listing) does.
   */
  private async statContainer(): Promise<FileInfo> {
    const response = await this.client.object('HEAD', undefined);
    await response.body.dump();
    if (response.status < 200 || response.status >= 300) {
      throw new SwiftStatusError(response.status, `checking container ${this.params.container}`);
    }
    const modified = new Date(response.headers['last-modified'] ?? Number.NaN);
    return { path: ROOT_PATH, isDir: true, size: 0, modTime: Number.isNaN(modified.getTime()) ? new Date(0) : modified };
  }

  async list(path: string): Promise<string[]> {
    await this.open();
    const children = new Set<string>();
    for await (const entry of this.client.list(this.layout.directoryPrefix(path), { delimiter: '/' })) {
      children.add(this.layout.driverPath(entry.subdir ?? entry.name ?? ''));
    }
    if (children.size === 0 && path !== ROOT_PATH) throw new PathNotFoundError(path, this.name);
    return [...children].sort();
  }

  /**
   * A large object moves by its manifest alone: the source manifest is deleted first and
   * the destination's written after, so at no moment do two manifests name the segments.
   * (The reference wrote the second manifest first; a later delete through the first one
   * removed the blob's bytes: distribution#2188.) Should the new manifest fail, the old one
   * is put back, but only once the destination is known not to name the segments: a write
   * whose answer was lost (a proxy stopped mid-request) may have been stored, and then the
   * move is done. A plain object is copied by Swift and the source deleted.
   *
   * Moves to one destination may run at once (two clients pushing one blob): the last one
   * stored wins. A move whose manifest was superseded leaves the winner's segments alone
   * (only the winner deletes what it replaced) and deletes its own, which nothing names now.
   */
  async move(source: string, dest: string): Promise<void> {
    const objects = await this.objects();
    const sourceName = this.layout.objectName(source);
    const destName = this.layout.objectName(dest);
    // The source's segments and what the destination holds now are independent reads.
    const [stored, replaced] = await Promise.all([
      objects.manifestOf(sourceName),
      sourceName === destName ? [] : objects.head(destName).then((destStored) => objects.replacedSegments(destName, destStored)),
    ]);
    if (stored === undefined) throw new PathNotFoundError(source, this.name);
    if (sourceName === destName) return;
    let moved: Segment[] = [];
    let outcome: WriteOutcome;
    if (stored.kind === 'plain') {
      outcome = (await this.copyObject(sourceName, destName)).outcome;
      await objects.deleteOne(sourceName);
    } else {
      moved = stored.segments;
      await objects.deleteOne(sourceName);
      try {
        outcome = await objects.writeManifest(destName, moved);
      } catch (error) {
        // Unknown when Swift cannot say: the segments stay named by the destination or by
        // nothing (orphans, for the purge), never by two manifests, one of which a later
        // delete of the upload would take with them.
        const landed = await objects.namesSegments(destName, moved).catch(() => undefined);
        if (landed !== true) {
          if (landed === false) await objects.writeManifest(sourceName, moved).catch(() => undefined);
          throw error;
        }
        outcome = 'stored';
      }
    }
    if (outcome === 'superseded') {
      await objects.deleteObjects(moved.map((segment) => segment.name));
      return;
    }
    const kept = new Set(moved.map((segment) => segment.name));
    await objects.deleteObjects(replaced.map((segment) => segment.name).filter((name) => !kept.has(name)));
  }

  /** Deletes the file or every file below the directory `path`, large objects with their segments. */
  async delete(path: string): Promise<void> {
    const objects = await this.objects();
    const name = this.layout.objectName(path);
    const listing = async () => {
      const entries: ListingEntry[] = [];
      for await (const entry of this.client.list(this.layout.directoryPrefix(path))) entries.push(entry);
      return entries;
    };
    const [below, self] = await Promise.all([listing(), objects.head(name)]);
    if (self === undefined && below.length === 0) throw new PathNotFoundError(path, this.name);

    const slos: string[] = [];
    const plain: string[] = [];
    const sort = async (objectName: string, stored: StoredObject | undefined) => {
      if (stored === undefined) return;
      if (stored.kind === 'slo') slos.push(objectName);
      else plain.push(objectName, ...(await objects.segmentsOf(objectName, stored)).map((segment) => segment.name));
    };
    await sort(name, self);
    await inParallel(below, 8, async (entry) => {
      const entryName = entry.name;
      if (entryName === undefined) return;
      // Listings mark SLOs; a DLO manifest lists as 0 bytes, so only those need a HEAD.
      if (entry.slo_etag !== undefined) slos.push(entryName);
      else if (entry.bytes === 0 || !objects.features.listingMarksSlos) await sort(entryName, await objects.head(entryName));
      else plain.push(entryName);
    });
    await inParallel(slos, 8, (sloName) => objects.deleteSlo(sloName));
    await objects.deleteObjects(plain);
  }

  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    const { signer } = await this.open();
    if (signer === undefined) return undefined;
    return signer.sign(await this.client.session(), this.params.container, this.layout.objectName(path), method);
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    const start = await this.stat(path);
    if (!start.isDir) throw new PathNotFoundError(path, this.name);
    yield* this.walkDirectory(path);
  }

  /** Depth-first, children in lexical order of their names (a Swift listing orders `a-b` before `a/x`). */
  private async *walkDirectory(path: string): AsyncGenerator<FileInfo> {
    const children: FileInfo[] = [];
    for await (const entry of this.client.list(this.layout.directoryPrefix(path), { delimiter: '/' })) {
      if (entry.subdir !== undefined) {
        children.push({ path: this.layout.driverPath(entry.subdir), isDir: true, size: 0, modTime: new Date(0) });
      } else if (entry.name !== undefined) {
        children.push({ path: this.layout.driverPath(entry.name), isDir: false, size: entry.bytes ?? 0, modTime: listingTime(entry) });
      }
    }
    children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : Number(a.isDir) - Number(b.isDir)));
    for (const child of children) {
      yield child;
      if (child.isDir) yield* this.walkDirectory(child.path);
    }
  }

  /**
   * GET, asked twice when the first answer is 404: an object server that replaces an
   * object while serving it can answer 404 for the instant between removing the old data
   * file and the GET opening it (seen on this Swift with one replica, under the suite's
   * overwrite race). A missing object costs one request more.
   */
  private async getObject(name: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const first = await this.client.object('GET', name, { headers });
    if (first.status !== 404) return first;
    await first.body.dump();
    return this.client.object('GET', name, { headers });
  }

  private async objects(): Promise<LargeObjects> {
    return (await this.open()).objects;
  }

  /** Server-side copy (no bytes through berth); small objects only, as plain objects are. */
  private async copyObject(sourceName: string, destName: string): Promise<{ outcome: WriteOutcome; etag: string }> {
    const response = await this.client.object('PUT', destName, {
      body: Buffer.alloc(0),
      headers: { 'x-copy-from': `/${encodePath(this.params.container)}/${encodePath(sourceName)}`, 'content-type': CONTENT_TYPE },
    });
    await response.body.dump();
    if (response.status === 404) throw new PathNotFoundError(this.layout.driverPath(sourceName), this.name);
    const outcome = writeOutcome(response.status);
    if (outcome === undefined) throw new SwiftStatusError(response.status, `copying ${sourceName} to ${destName}`);
    return { outcome, etag: (response.headers.etag ?? '').replace(/"/g, '') };
  }

  private async copyToSegment(objectName: string, segment: string): Promise<Segment> {
    const { etag } = await this.copyObject(objectName, segment);
    const copied = await (await this.objects()).head(segment);
    if (copied === undefined) throw new StorageDriverError(`segment ${segment} vanished after its copy`, this.name);
    return { name: segment, bytes: copied.size, etag };
  }

  private async openOnce(): Promise<OpenedDriver> {
    await this.client.session();
    const info = (await this.client.info()) ?? {};
    const objects = new LargeObjects(this.client, clusterFeatures(info));
    await this.ensureContainer();
    return { objects, signer: await this.tempUrlSigner(info) };
  }

  /** As the reference: the container is created when missing; a refusal says what to do. */
  private async ensureContainer(): Promise<void> {
    const container = this.params.container;
    const head = await this.client.object('HEAD', undefined);
    await head.body.dump();
    if (head.status >= 200 && head.status < 300) return;
    if (head.status !== 404) {
      throw new SwiftStatusError(head.status, `checking container ${container} (may the configured user or application credential use it?)`);
    }
    const created = await this.client.object('PUT', undefined, { body: Buffer.alloc(0) });
    await created.body.dump();
    if (created.status === 201 || created.status === 202) return;
    throw new SwiftStatusError(
      created.status,
      `container ${container} does not exist and cannot be created by ${this.user()}: create it (swift post ${container}) or grant the user a role that may`,
    );
  }

  /** Who the driver authenticates as, for messages. */
  private user(): string {
    const { username, applicationcredentialid, applicationcredentialname } = this.params;
    return username ?? `application credential ${applicationcredentialid ?? applicationcredentialname}`;
  }

  /**
   * TempURL redirects when `secretkey` or `tempurlcontainerkey` asks for them: the key is
   * set on the container (`tempurlcontainerkey`) or the account when it differs, as the
   * reference does; a container key without a `secretkey` is read, or made once.
   */
  private async tempUrlSigner(info: Record<string, unknown>): Promise<TempUrlSigner | undefined> {
    const { secretkey, tempurlcontainerkey, tempurlmethods, accesskey } = this.params;
    if (secretkey === undefined && tempurlcontainerkey !== true) return undefined;
    const tempurl = info.tempurl as { methods?: string[]; allowed_digests?: string[] } | undefined;
    if (info.tempurl === undefined && Object.keys(info).length > 0) {
      throw new StorageDriverError('storage.swift.secretkey is set but this Swift has no tempurl middleware (/info)', this.name);
    }
    const methods = tempurl?.methods ?? tempurlmethods ?? ['GET', 'HEAD'];
    const digest = tempurl?.allowed_digests?.includes('sha256') ? 'sha256' : 'sha1';
    const onContainer = tempurlcontainerkey === true;
    const response = onContainer ? await this.client.object('HEAD', undefined) : await this.client.account('HEAD');
    await response.body.dump();
    const header = onContainer ? 'x-container-meta-temp-url-key' : 'x-account-meta-temp-url-key';
    let key = response.headers[header];
    if (key === undefined || (secretkey !== undefined && key !== secretkey)) {
      key = secretkey ?? randomBytes(32).toString('hex');
      const update = onContainer
        ? await this.client.object('POST', undefined, { headers: { [header]: key }, body: Buffer.alloc(0) })
        : await this.client.account('POST', { headers: { [header]: key }, body: Buffer.alloc(0) });
      await update.body.dump();
      if (update.status < 200 || update.status >= 300) throw new SwiftStatusError(update.status, `setting the TempURL key (${header})`);
    }
    return new TempUrlSigner(key, methods, digest, accesskey);
  }
}

function clusterFeatures(info: Record<string, unknown>): ClusterFeatures {
  const slo = info.slo as { max_manifest_segments?: number } | undefined;
  const bulk = info.bulk_delete as { max_deletes_per_request?: number } | undefined;
  const swift = info.swift as { max_object_name_length?: number; version?: string } | undefined;
  return {
    slo: slo !== undefined,
    maxManifestSegments: slo?.max_manifest_segments ?? 1000,
    bulkDelete: bulk !== undefined,
    maxDeletesPerRequest: bulk?.max_deletes_per_request ?? 10_000,
    maxObjectNameLength: swift?.max_object_name_length ?? DEFAULT_MAX_OBJECT_NAME_LENGTH,
    listingMarksSlos: versionAtLeast(swift?.version, [2, 19]),
  };
}

/** Whether a Swift version string ("2.30.1") is at least `wanted`; false when unknown. */
function versionAtLeast(version: string | undefined, wanted: [number, number]): boolean {
  const [major, minor] = (version ?? '').split('.').map(Number);
  if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor)) return false;
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}
