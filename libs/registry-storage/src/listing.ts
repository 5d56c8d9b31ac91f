import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';

/** The children of a directory in byte order, or `[]` when it does not exist. */
export async function listOrEmpty(driver: StorageDriver, directory: string): Promise<string[]> {
  return (await listIfExists(driver, directory)) ?? [];
}

/** The children of a directory in byte order, or `undefined` when it does not exist. */
export async function listIfExists(driver: StorageDriver, directory: string): Promise<string[] | undefined> {
  try {
    return (await driver.list(directory)).sort(compareBytes);
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/** Deletes `path` (a file or a whole directory); `false` when it was not there. */
export async function deleteIfExists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.delete(path);
    return true;
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
}

/** The last component of a driver path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Byte order, which for the ASCII of names, tags and digests is the reference's `sort.Strings`. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `fn` over `items` with at most `limit` calls in flight, results in input order: listings
 * of a large repository must not open thousands of backend requests at once.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** How many link reads one listing keeps in flight. */
export const PARALLEL_READS = 16;
