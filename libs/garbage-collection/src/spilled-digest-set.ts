import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, splitDigest } from '@berth/oci';

/** Digests held in memory before they are appended to their bucket files. */
const BUFFERED = 50_000;

/**
 * A set of digests too large for memory, kept on local disk in buckets by algorithm and the
 * first two hex characters: the blob store's own `blobs/<algorithm>/<2>/` fan-out. The sweep
 * walks the blob store one `<2>` directory at a time and loads only that bucket, so memory
 * holds at most {@link BUFFERED} pending digests plus one bucket (about 1/256 of the set),
 * whatever the registry's size. Duplicates are kept on disk and dropped when a bucket loads.
 * A set that never outgrew the buffer is answered from memory and never touches the disk: a
 * registry of ten thousand blobs paid 512 file reads and 256 appends for nothing.
 */
export class SpilledDigestSet {
  private pending = new Map<string, string[]>();
  private pendingCount = 0;
  /** Whether any bucket was written to disk: from then on the files are the truth. */
  private spilled = false;

  private constructor(
    private readonly directory: string,
    private readonly buffered: number,
  ) {}

  /** A set whose buckets live in `directory` (created; removed by {@link remove}); `buffered` digests are held before spilling. */
  static async create(directory: string, buffered = BUFFERED): Promise<SpilledDigestSet> {
    await mkdir(directory, { recursive: true });
    return new SpilledDigestSet(directory, buffered);
  }

  /** Adds `digest`, with a number kept beside it (a size) when given. */
  async add(digest: Digest, value?: number): Promise<void> {
    const { algorithm, hex } = splitDigest(digest);
    const bucket = bucketName(algorithm, hex);
    let lines = this.pending.get(bucket);
    if (lines === undefined) this.pending.set(bucket, (lines = []));
    lines.push(value === undefined ? hex : `${hex} ${value}`);
    if (++this.pendingCount >= this.buffered) await this.flush();
  }

  /** The hex digests of `algorithm` starting with `prefix` (two characters), deduplicated, each with its last value. */
  async bucket(algorithm: string, prefix: string): Promise<Map<string, number | undefined>> {
    const name = bucketName(algorithm, prefix);
    if (!this.spilled) return entriesOf(this.pending.get(name) ?? []);
    await this.flush();
    let text: string;
    try {
      text = await readFile(join(this.directory, name), 'latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    return entriesOf(text.split('\n'));
  }

  /** Every bucket, loaded one at a time. */
  async *buckets(): AsyncGenerator<Map<string, number | undefined>> {
    const names = this.spilled ? (await this.flush(), await readdir(this.directory)) : [...this.pending.keys()];
    for (const name of names.sort()) {
      const [algorithm, prefix] = name.split('-') as [string, string];
      yield await this.bucket(algorithm, prefix);
    }
  }

  /** How many distinct digests the set holds. */
  async size(): Promise<number> {
    let count = 0;
    for await (const bucket of this.buckets()) count += bucket.size;
    return count;
  }

  async remove(): Promise<void> {
    this.pending.clear();
    this.pendingCount = 0;
    await rm(this.directory, { recursive: true, force: true });
  }

  private async flush(): Promise<void> {
    if (this.pendingCount === 0) return;
    this.spilled = true;
    const pending = this.pending;
    this.pending = new Map();
    this.pendingCount = 0;
    for (const [bucket, lines] of pending) await appendFile(join(this.directory, bucket), `${lines.join('\n')}\n`, 'latin1');
  }
}

/** A bucket's lines (`hex` or `hex value`), deduplicated, each digest with its last value. */
function entriesOf(lines: Iterable<string>): Map<string, number | undefined> {
  const entries = new Map<string, number | undefined>();
  for (const line of lines) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    if (space < 0) entries.set(line, entries.get(line));
    else entries.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return entries;
}

function bucketName(algorithm: string, hex: string): string {
  return `${algorithm}-${hex.slice(0, 2)}`;
}
