import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';

/** The children of a directory, or `[]` when it does not exist. */
export async function listOrEmpty(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return await driver.list(path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  }
}

/** The last component of a driver path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
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
