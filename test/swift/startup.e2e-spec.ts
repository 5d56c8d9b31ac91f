import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, freePort, PrivateSwift, repoRoot, swiftBackend, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getManifest, pushImage } from '../e2e/support/registry-client';

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

  it('a Swift that cannot be reached yet → waits in one line, then serves once it answers', async () => {
    const swift = await PrivateSwift.start();
    const port = await freePort();
    const file = join(work.path, 'late.yml');
    await writeFile(
      file,
      dump({
        version: '0.1',
        storage: { swift: { ...swift.backend, container: 'berth-late' } },
        http: { addr: `127.0.0.1:${port}` },
      }),
    );
    await swift.stopProxy();
    const berth = spawn(process.execPath, [join(repoRoot, 'cli/dist/main.js'), 'serve', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    berth.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    try {
      await until(`berth says it waits for Swift\n${log}`, () => log.includes('waiting for the storage backend (swift) to answer: ECONNREFUSED'));
      expect(berth.exitCode).toBeNull();
      await swift.startProxy();
      const url = `http://127.0.0.1:${port}`;
      await until(`berth serves\n${log}`, () => fetch(`${url}/v2/`).then((res) => res.status === 200, () => false), 60_000);
      const image = await pushImage(url, 'late/swift', 'v1');
      expect(Buffer.from((await getManifest(url, 'late/swift', 'v1')).body as Buffer).equals(image.bytes)).toBe(true);
    } finally {
      berth.kill('SIGKILL');
      await swift.remove();
    }
  }, 180_000);
});

/** Waits until `predicate` holds, checking every 100 ms; fails after `timeoutMs` saying what it waited for. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
