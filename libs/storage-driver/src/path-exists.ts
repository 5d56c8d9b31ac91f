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

/** The file at `path` as trimmed UTF-8 text (a link file's digest), or `undefined` when there is none. */
export async function textIfExists(driver: StorageDriver, path: string): Promise<string | undefined> {
  try {
    return (await driver.getContent(path)).toString('utf8').trim();
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}
