import { createHash } from 'node:crypto';
import { type ListingEntry, listingTime, type SwiftClient } from './swift.client';
import { parseSegmentName } from './swift.layout';
import { inParallel, type LargeObjects } from './swift.large-object';

/** Where the purge looks: the listing prefixes of `files/` and of `segments/`. */
export interface OrphanSearch {
  filesPrefix: string;
  segmentsPrefix: string;
  olderThan: Date;
  dryRun: boolean;
}

/**
 * Finds, and unless `dryRun` deletes, the segments that no manifest under `files/` owns, in
 * segment folders whose newest segment was written before `olderThan`; returns their names.
 *
 * Ownership is read from the manifests themselves: an SLO owns the segments it names, a DLO
 * every object under its prefix. A writer ended without commit writes its manifest too
 * (SwiftWriter), so an upload's segments are owned between its chunks, whichever instance
 * takes the next one. What no manifest names yet are the segments of a chunk being
 * written, and those are young: the caller passes now - uploadpurging.age, and an upload
 * older than that is abandoned and purged anyway. The same guard covers a manifest moving
 * while the listing passes (a move deletes the source manifest before writing the
 * destination's): only uploads being finished move, and their segments are young.
 */
export async function purgeOrphanSegments(client: SwiftClient, objects: LargeObjects, search: OrphanSearch): Promise<string[]> {
  // Manifests first: a segment written after this listing began is younger than `olderThan`.
  const ownership = await readOwnership(client, objects, search.filesPrefix);
  const orphans: string[] = [];
  let pending: string[] = [];
  const flush = async (): Promise<void> => {
    if (!search.dryRun) await objects.deleteObjects(pending);
    pending = [];
  };
  const settle = async (folder: SegmentFolder | undefined): Promise<void> => {
    if (folder === undefined || folder.newest >= search.olderThan.getTime()) return;
    const unowned = folder.names.filter((name) => !ownership.owns(name));
    orphans.push(...unowned);
    pending.push(...unowned);
    if (pending.length >= objects.features.maxDeletesPerRequest) await flush();
  };
  // One folder at a time: a listing gives a folder's segments together ("f/…" sorts before "f0…").
  let folder: SegmentFolder | undefined;
  for await (const entry of client.list(search.segmentsPrefix)) {
    const parsed = parseSegmentName(entry.name ?? '');
    // Objects of other schemes under segments/ are not ours to judge.
    if (parsed === undefined || entry.name === undefined) continue;
    if (folder?.folder !== parsed.folder) {
      await settle(folder);
      folder = { folder: parsed.folder, names: [], newest: 0 };
    }
    folder.names.push(entry.name);
    folder.newest = Math.max(folder.newest, listingTime(entry).getTime());
  }
  await settle(folder);
  await flush();
  return orphans;
}

interface SegmentFolder {
  folder: string;
  names: string[];
  /** Epoch ms of the newest segment: the folder's writer was last active then. */
  newest: number;
}

/** Reads every manifest under `filesPrefix`, eight at a time, page by page. */
async function readOwnership(client: SwiftClient, objects: LargeObjects, filesPrefix: string): Promise<Ownership> {
  const ownership = new Ownership();
  const read = async (entry: ListingEntry & { name: string }): Promise<void> => {
    // Listings mark SLOs; a DLO manifest lists as 0 bytes; an older Swift tells neither without a HEAD.
    const stored = entry.slo_etag !== undefined ? { kind: 'slo' as const } : await objects.head(entry.name);
    if (stored?.kind === 'slo') {
      for (const segment of (await objects.sloEntries(entry.name)) ?? []) {
        if (segment.name !== undefined) ownership.addSegment(segment.name);
      }
    } else if (stored?.kind === 'dlo' && stored.segmentContainer === client.container) {
      ownership.addDloPrefix(stored.segmentPrefix);
    }
  };
  let batch: Array<ListingEntry & { name: string }> = [];
  for await (const entry of client.list(filesPrefix)) {
    const name = entry.name;
    if (name === undefined) continue;
    if (entry.slo_etag !== undefined || entry.bytes === 0 || !objects.features.listingMarksSlos) batch.push({ ...entry, name });
    if (batch.length >= 256) {
      await inParallel(batch, 8, read);
      batch = [];
    }
  }
  await inParallel(batch, 8, read);
  ownership.seal();
  return ownership;
}

/**
 * What the manifests own. SLO segments are kept as SHA-1 digests: a registry holds millions
 * of segments with names of hundreds of characters. DLO prefixes are kept sorted, each
 * covered one dropped, so a name's only candidate owner is the greatest prefix not after it.
 */
class Ownership {
  private readonly segments = new Set<string>();
  private prefixes: string[] = [];

  addSegment(name: string): void {
    this.segments.add(digest(name));
  }

  addDloPrefix(prefix: string): void {
    this.prefixes.push(prefix);
  }

  /** Sorts the DLO prefixes and drops those another one covers; call once, before `owns`. */
  seal(): void {
    const sorted = [...new Set(this.prefixes)].sort(byteOrder);
    this.prefixes = [];
    for (const prefix of sorted) {
      const last = this.prefixes[this.prefixes.length - 1];
      if (last === undefined || !prefix.startsWith(last)) this.prefixes.push(prefix);
    }
  }

  owns(name: string): boolean {
    if (this.segments.has(digest(name))) return true;
    // Binary search for the greatest prefix <= name.
    let low = 0;
    let high = this.prefixes.length - 1;
    let candidate: string | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const prefix = this.prefixes[middle]!;
      if (byteOrder(prefix, name) <= 0) {
        candidate = prefix;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return candidate !== undefined && name.startsWith(candidate);
  }
}

function digest(name: string): string {
  return createHash('sha1').update(name).digest('base64');
}

/** Swift orders names by their UTF-8 bytes; so do the prefixes here. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
