import { randomBytes } from 'node:crypto';
import { lstat, opendir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isNotFound } from './filesystem-errors';

// `putContent`'s private files: `~` puts them outside the path grammar, so no listing shows them.
const TEMPORARY_NAME = /^~[0-9a-f]{16}\.tmp$/;

/** The private name `putContent` writes beside `target`'s directory before renaming it into place. */
export function temporaryName(): string {
  return `~${randomBytes(8).toString('hex')}.tmp`;
}

/**
 * Removes the temporary files of `putContent`s that never reached their rename (the process
 * was killed in between) and were last written before `olderThan`; returns their paths under
 * the root as driver paths. A write in progress is seconds old, so an age of hours never takes
 * one. The walk holds one directory's handle at a time per level, never the whole tree.
 */
export async function purgeLeftoverTemporaries(root: string, olderThan: Date, dryRun: boolean): Promise<string[]> {
  const removed: string[] = [];
  for await (const file of temporaries(root)) {
    const info = await lstat(file).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (info === undefined || info.mtime >= olderThan) continue;
    if (!dryRun) await rm(file, { force: true });
    removed.push(`/${relative(root, file).split(sep).join('/')}`);
  }
  return removed;
}

async function* temporaries(directory: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await opendir(directory);
  } catch (error) {
    // An empty storage has no root yet; a directory removed meanwhile holds nothing.
    if (isNotFound(error)) return;
    throw error;
  }
  for await (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) yield* temporaries(path);
    else if (entry.isFile() && TEMPORARY_NAME.test(entry.name)) yield path;
  }
}
