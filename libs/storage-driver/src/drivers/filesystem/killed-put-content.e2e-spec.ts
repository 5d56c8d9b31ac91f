import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../factory';

const HOUR = 3_600_000;
// The built driver (`pnpm build`): the process to kill runs it without vitest.
const builtDriver = resolve(__dirname, '../../../dist/index.js');
const temporary = /^~[0-9a-f]{16}\.tmp$/;

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/**
 * Starts a process that rewrites one 8 MiB file with `putContent` for ever, waits until one of
 * its temporary files is there, and SIGKILLs it: a crash mid-commit, as the operator met it.
 */
async function killMidPutContent(root: string, directory: string): Promise<void> {
  const script = `
    const driver = require(${JSON.stringify(builtDriver)}).createStorageDriver('filesystem', { rootdirectory: ${JSON.stringify(root)} });
    const content = Buffer.alloc(8 * 1024 * 1024, 7);
    (async () => { for (;;) await driver.putContent('/blobs/big/data', content); })();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const names = await readdir(join(root, directory)).catch(() => []);
      if (names.some((name) => temporary.test(name))) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('the writing process never wrote a temporary file');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('a putContent killed mid-commit', () => {
  it('leaves a temporary file that purgeOrphans removes once older than the limit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-killed-'));
    roots.push(root);
    const directory = 'blobs/big';
    const leftovers = async () => (await readdir(join(root, directory))).filter((name) => temporary.test(name));
    // The kill may land between a rename and the next write: crash again until one is left.
    for (let crashes = 0; crashes < 10 && (await leftovers().catch(() => [])).length === 0; crashes++) await killMidPutContent(root, directory);
    const left = await leftovers();
    expect(left.length).toBeGreaterThan(0);

    const driver = createStorageDriver('filesystem', { rootdirectory: root });
    // Young: a write that might still be going on is never taken.
    expect(await driver.purgeOrphans!(new Date(Date.now() - HOUR), { dryRun: false })).toEqual([]);
    const then = new Date(Date.now() - 2 * HOUR);
    for (const name of left) await utimes(join(root, directory, name), then, then);
    const purged = await driver.purgeOrphans!(new Date(Date.now() - HOUR), { dryRun: false });
    expect(purged.sort()).toEqual(left.map((name) => `/${directory}/${name}`).sort());
    expect(await leftovers()).toEqual([]);
  }, 60_000);
});
