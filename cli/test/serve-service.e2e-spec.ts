import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, repoRoot, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function berth(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'cli/dist/main.js'), ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('berth serve --service', () => {
  let work: TempDir;
  let config: string;

  beforeAll(async () => {
    work = await createTempDir('berth-cli-service-');
    config = join(work.path, 'config.yml');
    await writeFile(config, `version: 0.1\nstorage: {filesystem: {rootdirectory: ${work.path}/root}}\nhttp: {addr: "127.0.0.1:0"}\n`);
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('is explained by --help', async () => {
    const { stdout } = await berth(['--help']);
    expect(stdout).toContain('berth serve --service NAME CONFIG');
  });

  it('refuses a service it does not have, naming the ones it has', async () => {
    const { code, stderr } = await berth(['serve', '--service', 'catalog', config]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('berth: unknown service "catalog": use gateway, upload, manifest, health');
  });

  it('needs redis.addr to run one service apart, and says so in one line', async () => {
    const { code, stderr } = await berth(['serve', '--service', 'manifest', config]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('redis.addr');
  });
});
