import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '@berth/oci';
import { mapBounded, type RegistryStorage } from '@berth/registry-storage';
import { manifestReferences } from './manifest-references';
import { SpilledDigestSet } from './spilled-digest-set';

/** What one repository's manifests reference. */
export interface RepositoryUse {
  repository: string;
  manifests: number;
  /** Distinct blobs its manifests reference (their own bytes included). */
  blobs: number;
  /** Their bytes, as the manifests declare them, each blob counted once in the repository. */
  bytes: number;
}

/** The registry's storage use: per repository, and every referenced blob counted once across the registry. */
export interface StorageUse {
  repositories: RepositoryUse[];
  /** Distinct blobs referenced by any manifest, and their bytes. */
  referenced: { blobs: number; bytes: number };
}

const PARALLEL = 16;

/**
 * Measures what manifests reference, repository by repository: the question operators ask
 * before and after collecting garbage. Sizes are those the descriptors declare (a manifest's
 * own bytes by their length), so no blob is stat'ed. The registry-wide total deduplicates
 * through a spilled digest set: memory grows with the largest repository, not the registry.
 * `onRepository` sees each repository as it is measured (a command prints it at once).
 */
export async function measureStorageUse(
  storage: RegistryStorage,
  options: { onRepository?: (use: RepositoryUse) => void; signal?: AbortSignal; workDirectory?: string } = {},
): Promise<StorageUse> {
  const work = await mkdtemp(join(options.workDirectory ?? tmpdir(), 'berth-du-'));
  const everywhere = await SpilledDigestSet.create(join(work, 'referenced'));
  try {
    const repositories: RepositoryUse[] = [];
    for await (const repository of storage.repositories({ signal: options.signal })) {
      const sizes = new Map<Digest, number>();
      const revisions: Digest[] = [];
      for await (const digest of storage.revisions.all(repository)) revisions.push(digest);
      const contents = await mapBounded(revisions, PARALLEL, (digest) => storage.blobs.get(digest));
      for (const [index, digest] of revisions.entries()) {
        const content = contents[index];
        if (content === undefined) continue;
        sizes.set(digest, content.length);
        let found: ReturnType<typeof manifestReferences>;
        try {
          found = manifestReferences(content);
        } catch {
          continue;
        }
        for (const [blob, size] of found.sizes) if (!sizes.has(blob)) sizes.set(blob, size);
      }
      let bytes = 0;
      for (const [digest, size] of sizes) {
        bytes += size;
        await everywhere.add(digest, size);
      }
      const use = { repository, manifests: revisions.length, blobs: sizes.size, bytes };
      repositories.push(use);
      options.onRepository?.(use);
    }
    const referenced = { blobs: 0, bytes: 0 };
    for await (const bucket of everywhere.buckets()) {
      for (const size of bucket.values()) {
        referenced.blobs++;
        referenced.bytes += size ?? 0;
      }
    }
    return { repositories, referenced };
  } finally {
    await everywhere.remove();
    await rm(work, { recursive: true, force: true });
  }
}
