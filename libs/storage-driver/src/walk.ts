import { PathNotFoundError } from './errors';
import type { FileInfo, StorageDriver } from './storage-driver';

/**
 * `walk` built from `stat` and `list`, for drivers whose backend has nothing better
 * (Distribution's `WalkFallback`): depth-first, children in lexical order. A child removed
 * between its parent's listing and its own stat is skipped, as in the reference, since a
 * walk over a live registry races with deletes.
 */
export async function* walkByListing(driver: StorageDriver, path: string): AsyncGenerator<FileInfo> {
  const start = await driver.stat(path);
  if (!start.isDir) throw new PathNotFoundError(path, driver.name);
  yield* walkChildren(driver, path);
}

async function* walkChildren(driver: StorageDriver, directory: string): AsyncGenerator<FileInfo> {
  let children: string[];
  try {
    children = await driver.list(directory);
  } catch (error) {
    if (error instanceof PathNotFoundError) return;
    throw error;
  }
  for (const child of [...children].sort()) {
    let info: FileInfo;
    try {
      info = await driver.stat(child);
    } catch (error) {
      if (error instanceof PathNotFoundError) continue;
      throw error;
    }
    yield info;
    if (info.isDir) yield* walkChildren(driver, child);
  }
}
