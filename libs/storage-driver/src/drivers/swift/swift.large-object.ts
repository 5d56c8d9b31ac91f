import { StorageDriverError } from '../../errors';
import { encodePath, type SwiftClient, SwiftStatusError } from './swift.client';
import type { HttpResponse } from './swift.http';
import { parseSegmentName } from './swift.layout';

/** One segment of a large object: its object name in the container, size and MD5 ETag. */
export interface Segment {
  name: string;
  bytes: number;
  etag: string;
}

/** One entry of an SLO manifest as Swift returns it. */
interface SloEntry {
  path: string;
  name: string | undefined;
  bytes: number;
  hash: string;
}

/** What a HEAD says an object is. */
export type StoredObject =
  | { kind: 'plain'; size: number; modTime: Date }
  | { kind: 'slo'; size: number; modTime: Date }
  /** A Dynamic Large Object (what the reference writes): its segments are whatever lists under `segmentPrefix`. */
  | { kind: 'dlo'; size: number; modTime: Date; segmentContainer: string; segmentPrefix: string };

export interface ClusterFeatures {
  /** `/info` lists `slo`: manifests are SLOs, checked against every segment's ETag and size. */
  slo: boolean;
  maxManifestSegments: number;
  /** `/info` lists `bulk_delete`: deletes go in batches of `maxDeletesPerRequest`. */
  bulkDelete: boolean;
  maxDeletesPerRequest: number;
  maxObjectNameLength: number;
  /** Listings mark SLO manifests with `slo_etag` (Swift >= 2.19); before, only a HEAD tells. */
  listingMarksSlos: boolean;
}

export const CONTENT_TYPE = 'application/octet-stream';

/**
 * A write of one name is acknowledged `stored`, or `superseded`: a concurrent write of that
 * name with a later timestamp was stored first, so Swift kept it and dropped this one (the
 * object server's 409, which the proxy answers as 202 Accepted). Last writer wins: not an error.
 */
export type WriteOutcome = 'stored' | 'superseded';

/** The outcome of a PUT answered `status`, or undefined when Swift refused it. */
export function writeOutcome(status: number): WriteOutcome | undefined {
  if (status === 201) return 'stored';
  if (status === 202) return 'superseded';
  return undefined;
}

/**
 * Large objects in one container: reading what an object is, listing its segments,
 * writing manifests, deleting segments. Every manifest written here owns its segments
 * alone; callers make sure no second manifest ever names them (see the driver's move).
 */
export class LargeObjects {
  constructor(
    private readonly client: SwiftClient,
    readonly features: ClusterFeatures,
  ) {}

  async head(name: string): Promise<StoredObject | undefined> {
    const response = await this.client.object('HEAD', name);
    await response.body.dump();
    if (response.status === 404) return undefined;
    if (response.status < 200 || response.status >= 300) throw new SwiftStatusError(response.status, `HEAD ${name}`);
    return describe(response.headers);
  }

  /** The segments of a large object, in order; [] for a plain object. */
  async segmentsOf(name: string, stored: StoredObject): Promise<Segment[]> {
    switch (stored.kind) {
      case 'plain':
        return [];
      case 'slo': {
        const entries = await this.sloEntries(name);
        if (entries === undefined) throw new SwiftStatusError(404, `reading the manifest of ${name}`);
        return entries.map((entry) => this.ownSegment(name, entry));
      }
      case 'dlo': {
        if (stored.segmentContainer !== this.client.container) {
          throw new StorageDriverError(`${name} keeps its segments in container ${stored.segmentContainer}`, 'swift');
        }
        const segments: Segment[] = [];
        for await (const entry of this.client.list(stored.segmentPrefix)) {
          if (entry.name !== undefined) segments.push({ name: entry.name, bytes: entry.bytes ?? 0, etag: entry.hash ?? '' });
        }
        return segments;
      }
    }
  }

  /**
   * The segments of the large object `stored` at `name` that a write replacing it deletes
   * once its own manifest is stored; none when the object went meanwhile (a concurrent
   * delete, or a move that took it away).
   */
  async replacedSegments(name: string, stored: StoredObject | undefined): Promise<Segment[]> {
    if (stored === undefined) return [];
    try {
      return await this.segmentsOf(name, stored);
    } catch (error) {
      if (error instanceof SwiftStatusError && error.status === 404) return [];
      throw error;
    }
  }

  /**
   * The entries of the SLO manifest `name`, each with its object name in this container
   * (undefined for a segment in another one); undefined when the manifest is gone.
   */
  async sloEntries(name: string): Promise<SloEntry[] | undefined> {
    const response = await this.getManifest(name);
    const text = await response.body.text();
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new SwiftStatusError(response.status, `reading the manifest of ${name}`);
    return this.parseSloManifest(text);
  }

  /**
   * What `name` is, with its segments in order and its size, from one GET of the object
   * as stored (`?multipart-manifest=get`: a large object's manifest, a plain object's bytes)
   * where a HEAD and then a read of the manifest would take two. Undefined when absent.
   * Plain objects are small here (putContent's), so their bytes are only drained.
   */
  async manifestOf(name: string): Promise<{ kind: StoredObject['kind']; size: number; segments: Segment[] } | undefined> {
    const response = await this.getManifest(name);
    if (response.status === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.status !== 200) {
      await response.body.dump();
      throw new SwiftStatusError(response.status, `reading the manifest of ${name}`);
    }
    const stored = describe(response.headers);
    if (stored.kind === 'slo') {
      const segments = this.parseSloManifest(await response.body.text()).map((entry) => this.ownSegment(name, entry));
      return { kind: 'slo', size: totalBytes(segments), segments };
    }
    await response.body.dump();
    if (stored.kind === 'plain') return { kind: 'plain', size: stored.size, segments: [] };
    const segments = await this.segmentsOf(name, stored);
    return { kind: 'dlo', size: totalBytes(segments), segments };
  }

  /** Asked twice on a 404, as the driver's GETs are: a manifest being replaced can answer 404 for an instant. */
  private async getManifest(name: string): Promise<HttpResponse> {
    const get = () => this.client.object('GET', name, { query: { 'multipart-manifest': 'get' } });
    const first = await get();
    if (first.status !== 404) return first;
    await first.body.dump();
    return get();
  }

  private parseSloManifest(text: string): SloEntry[] {
    // Entries name "/<container>/<object>".
    const prefix = `/${this.client.container}/`;
    const entries = JSON.parse(text) as Array<{ name: string; bytes: number; hash: string }>;
    return entries.map((entry) => ({
      path: entry.name,
      name: entry.name.startsWith(prefix) ? entry.name.slice(prefix.length) : undefined,
      bytes: entry.bytes,
      hash: entry.hash,
    }));
  }

  private ownSegment(manifest: string, entry: SloEntry): Segment {
    // A segment in another container is not ours to manage.
    if (entry.name === undefined) throw new StorageDriverError(`${manifest} has a segment outside the container: ${entry.path}`, 'swift');
    return { name: entry.name, bytes: entry.bytes, etag: entry.hash };
  }

  /** Whether `name` is now the large object of exactly `segments`, in their order. */
  async namesSegments(name: string, segments: readonly Segment[]): Promise<boolean> {
    const stored = await this.manifestOf(name);
    return stored !== undefined && stored.segments.length === segments.length && stored.segments.every((segment, i) => segment.name === segments[i]!.name);
  }

  /**
   * Writes `name` as the manifest of `segments`: an SLO where the cluster has them (Swift
   * checks each segment's ETag and size before accepting it), else a DLO over the one
   * folder that holds them all. No segments: an empty plain object. `superseded` when a
   * concurrent writer's manifest won: then no manifest names `segments`. With `ifAbsent`,
   * `exists` (and nothing written) when an object is at `name` already.
   */
  writeManifest(name: string, segments: Segment[], options: { ifAbsent: true }): Promise<WriteOutcome | 'exists'>;
  writeManifest(name: string, segments: Segment[]): Promise<WriteOutcome>;
  async writeManifest(name: string, segments: Segment[], options: { ifAbsent?: boolean } = {}): Promise<WriteOutcome | 'exists'> {
    const condition: Record<string, string> = options.ifAbsent ? { 'if-none-match': '*' } : {};
    if (segments.length === 0) {
      const response = await this.client.object('PUT', name, { body: Buffer.alloc(0), headers: { 'content-type': CONTENT_TYPE, ...condition } });
      await response.body.dump();
      if (response.status === 412 && options.ifAbsent) return 'exists';
      const outcome = writeOutcome(response.status);
      if (outcome === undefined) throw new SwiftStatusError(response.status, `PUT ${name}`);
      return outcome;
    }
    if (this.features.slo && segments.length <= this.features.maxManifestSegments) {
      const manifest = segments.map((segment) => ({
        path: `/${this.client.container}/${segment.name}`,
        etag: segment.etag,
        size_bytes: segment.bytes,
      }));
      const response = await this.client.object('PUT', name, {
        query: { 'multipart-manifest': 'put' },
        headers: { 'content-type': CONTENT_TYPE, ...condition },
        body: JSON.stringify(manifest),
      });
      const text = await response.body.text();
      if (response.status === 412 && options.ifAbsent) return 'exists';
      const outcome = writeOutcome(response.status);
      if (outcome === undefined) throw new SwiftStatusError(response.status, `writing the manifest ${name}`, text.trim().slice(0, 300));
      return outcome;
    }
    return this.writeDlo(name, segments, condition);
  }

  /** Deletes `names` (segments or plain objects); ones already gone are no error. */
  async deleteObjects(names: string[]): Promise<void> {
    if (names.length === 0) return;
    if (this.features.bulkDelete && names.length > 1) {
      for (let start = 0; start < names.length; start += this.features.maxDeletesPerRequest) {
        await this.bulkDelete(names.slice(start, start + this.features.maxDeletesPerRequest));
      }
      return;
    }
    await inParallel(names, 8, (name) => this.deleteOne(name));
  }

  /** Deletes `name`; already gone (404), or rewritten by a concurrent writer after this delete was timestamped (409), is no error. */
  async deleteOne(name: string): Promise<void> {
    const response = await this.client.object('DELETE', name);
    await response.body.dump();
    if (response.status === 404 || response.status === 409) return;
    if (response.status < 200 || response.status >= 300) throw new SwiftStatusError(response.status, `DELETE ${name}`);
  }

  /** Deletes an SLO with its segments in one request (Swift reads the manifest itself). */
  async deleteSlo(name: string): Promise<void> {
    const response = await this.client.object('DELETE', name, {
      query: { 'multipart-manifest': 'delete' },
      headers: { accept: 'application/json' },
    });
    const text = await response.body.text();
    if (response.status === 404) return;
    if (response.status !== 200) throw new SwiftStatusError(response.status, `DELETE ${name} with its segments`);
    // It answers 200 whatever happened and lists its failures in the body.
    const result = JSON.parse(text) as { Errors?: Array<[string, string]> };
    const errors = (result.Errors ?? []).filter(([, status]) => !status.startsWith('404'));
    if (errors.length > 0) {
      throw new StorageDriverError(`deleting ${name} and its segments failed for ${errors.length}, first: ${errors[0]!.join(' ')}`, 'swift');
    }
  }

  private async writeDlo(name: string, segments: Segment[], condition: Record<string, string>): Promise<WriteOutcome | 'exists'> {
    const folders = new Set(segments.map((segment) => parseSegmentName(segment.name)?.folder));
    const [folder] = [...folders];
    if (folders.size !== 1 || folder === undefined) {
      throw new StorageDriverError(`cannot write ${name} as a DLO: its segments are not all in one segment folder`, 'swift');
    }
    const response = await this.client.object('PUT', name, {
      body: Buffer.alloc(0),
      headers: { 'content-type': CONTENT_TYPE, 'x-object-manifest': `${this.client.container}/${folder}/`, ...condition },
    });
    await response.body.dump();
    if (response.status === 412 && condition['if-none-match'] !== undefined) return 'exists';
    const outcome = writeOutcome(response.status);
    if (outcome === undefined) throw new SwiftStatusError(response.status, `writing the manifest ${name}`);
    return outcome;
  }

  private async bulkDelete(names: string[]): Promise<void> {
    const body = names.map((name) => `/${encodePath(this.client.container)}/${encodePath(name)}`).join('\n');
    const response = await this.client.account('POST', {
      query: { 'bulk-delete': '' },
      headers: { 'content-type': 'text/plain', accept: 'application/json' },
      body,
    });
    const text = await response.body.text();
    if (response.status !== 200) throw new SwiftStatusError(response.status, 'bulk delete');
    const result = JSON.parse(text) as { Errors?: Array<[string, string]>; 'Response Status'?: string };
    const errors = (result.Errors ?? []).filter(([, status]) => !status.startsWith('404'));
    if (errors.length > 0) {
      throw new StorageDriverError(`bulk delete failed for ${errors.length} objects, first: ${errors[0]!.join(' ')}`, 'swift');
    }
  }
}

export function describe(headers: Record<string, string>): StoredObject {
  const size = Number(headers['content-length'] ?? 0);
  const modTime = writtenAt(headers);
  if ((headers['x-static-large-object'] ?? '').toLowerCase() === 'true') return { kind: 'slo', size, modTime };
  const manifest = headers['x-object-manifest'];
  if (manifest !== undefined) {
    // "<container>/<prefix>", percent-encoded as Swift stores it.
    const decoded = decodeURIComponent(manifest);
    const slash = decoded.indexOf('/');
    return { kind: 'dlo', size, modTime, segmentContainer: decoded.slice(0, slash), segmentPrefix: decoded.slice(slash + 1) };
  }
  return { kind: 'plain', size, modTime };
}

function totalBytes(segments: Segment[]): number {
  return segments.reduce((sum, segment) => sum + segment.bytes, 0);
}

/** Runs `work` over `items` with at most `limit` at a time; the first failure rejects. */
export async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * When the object was written: `X-Timestamp` (seconds, to 10 µs), as exact as a listing's
 * `last_modified`. `Last-Modified` is that time rounded up to the next second: online garbage
 * collection compares a blob's date with its run marker's over the review delay, and two dates
 * rounded up could make content up to a second younger than the delay look older.
 */
function writtenAt(headers: Record<string, string>): Date {
  const timestamp = /^(\d+)(?:\.(\d+))?$/.exec(headers['x-timestamp'] ?? '');
  // Milliseconds from the digits, not from a float (1.001 * 1000 is 1000.9999…).
  if (timestamp !== null) return new Date(Number(timestamp[1]) * 1000 + Number((timestamp[2] ?? '').padEnd(3, '0').slice(0, 3)));
  const lastModified = headers['last-modified'];
  return lastModified === undefined ? new Date(0) : new Date(lastModified);
}
