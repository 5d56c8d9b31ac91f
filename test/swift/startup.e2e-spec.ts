import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, repoRoot, swiftBackend, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** A swift config the driver cannot use stops `berth serve` at start-up, in one line, secrets kept. */
describe('berth serve on a Swift it cannot use', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-swift-startup-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('a wrong password → exit 2 before listening, one line naming the failure, no password in it', async () => {
    const backend = swiftBackend();
    const file = join(work.path, 'config.yml');
    const password = 'not-the-password-4711';
    await writeFile(
      file,
      dump({
        version: '0.1',
        storage: { swift: { authurl: backend.authurl, username: backend.username, password, container: 'berth-startup' } },
        http: { addr: '127.0.0.1:0' },
      }),
    );
    const failed = await run(process.execPath, [join(repoRoot, 'cli/dist/main.js'), 'serve', file]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    const lines = failed!.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^berth: swift: /);
    expect(failed!.stderr).not.toContain(password);
  });
});
