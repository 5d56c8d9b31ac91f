import { LINK_CACHE_TTL_MS, type LinkCache } from '@berth/contracts';

interface Entry {
  value?: string;
  expiresAt: number;
  /** Bumped by every invalidation: a read that began before it may not store what it read. */
  generation: number;
}

/**
 * `storage.cache.blobdescriptor: inmemory` when every service shares this process: a
 * least-recently-used map of at most `maxEntries` links (`storage.cache.blobdescriptorsize`).
 */
export class InProcessLinkCache implements LinkCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  /**
   * The highest generation an evicted entry had: a path with no entry counts as this one, so
   * a read that began before an invalidation cannot store its stale result after the
   * invalidated entry was evicted.
   */
  private evictedGeneration = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs = LINK_CACHE_TTL_MS,
  ) {}

  async read(path: string, load: () => Promise<string | undefined>): Promise<string | undefined> {
    const entry = this.entries.get(path);
    if (entry?.value !== undefined && entry.expiresAt > Date.now()) {
      this.touch(path, entry);
      return entry.value;
    }
    const ticket = entry?.generation ?? this.evictedGeneration;
    const value = await load();
    const now = this.entries.get(path);
    if (value !== undefined && (now?.generation ?? this.evictedGeneration) === ticket) {
      this.touch(path, { value, expiresAt: Date.now() + this.ttlMs, generation: ticket });
    }
    return value;
  }

  async invalidate(paths: readonly string[]): Promise<void> {
    for (const path of paths) this.touch(path, { expiresAt: 0, generation: ++this.clock });
  }

  /** Stores `entry` as the most recently used (Maps iterate in insertion order), evicting the least. */
  private touch(path: string, entry: Entry): void {
    this.entries.delete(path);
    this.entries.set(path, entry);
    while (this.entries.size > this.maxEntries) {
      const [oldest, evicted] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      this.evictedGeneration = Math.max(this.evictedGeneration, evicted.generation);
    }
  }
}
