import { PathNotFoundError } from './errors';
import type { StorageDriver } from './storage-driver';

/** Whether `path` holds a file or directory: `stat` with "not found" as `false`, any other failure thrown. */
export async function pathExists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
}
