import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BerthProcess, createTempDir, filesystemRegistryConfig, freePort, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getManifest, pushImage } from '../../test/e2e/support/registry-client';

const run = promisify(execFile);

/** The driver's bound on one stalled small-file read (STALLED_CALL_MS in host-files.ts). */
const STALL_BOUND_MS = 10_000;

/**
 * Issue 15, item 6: a read that never returns (a link file replaced by a FIFO nobody writes
 * to, as a hung NFS server or FUSE mount would answer) ends its own request with a backend
 * failure after a bounded time, while the rest of the process goes on answering.
 */
describe('a stalled disk stalls one request, not the process', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let debugUrl: string;
  let fifo: string | undefined;

  beforeAll(async () => {
    work = await createTempDir('berth-stalled-disk-');
    const debugPort = await freePort();
    const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'root'), port: await freePort() });
    config.http = { ...(config.http as object), debug: { addr: `127.0.0.1:${debugPort}` } };
    debugUrl = `http://127.0.0.1:${debugPort}`;
    berth = await startBerth({ config, topology: 'all-in-one' });
  });

  afterAll(async () => {
    // A writer that opens and closes the FIFO ends the read still waiting on it, so berth can stop
    // (non-blocking: with no reader left, the open fails at once instead of waiting for one).
    if (fifo !== undefined) await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then((writer) => writer.close(), () => undefined);
    await berth?.stop();
    await work?.remove();
  });

  it('answers /v2/, the health check and other manifests while one link read hangs, and fails that one with 503', async () => {
    await pushImage(berth.url, 'stall/app', 'stuck');
    await pushImage(berth.url, 'stall/app', 'fine');
    fifo = join(work.path, 'root/docker/registry/v2/repositories/stall/app/_manifests/tags/stuck/current/link');
    await rm(fifo);
    await run('mkfifo', [fifo]);

    const started = Date.now();
    const stuck = getManifest(berth.url, 'stall/app', 'stuck').then((res) => ({ res, ms: Date.now() - started }));
    // While the read hangs, the process answers, each within a second.
    for (let round = 0; round < 3; round++) {
      expect((await fetch(`${berth.url}/v2/`, { signal: AbortSignal.timeout(1_000) })).status).toBe(200);
      expect((await fetch(`${debugUrl}/debug/health`, { signal: AbortSignal.timeout(1_000) })).status).toBe(200);
      expect((await getManifest(berth.url, 'stall/app', 'fine').timeout(1_000)).status).toBe(200);
    }

    const { res, ms } = await stuck;
    expect(res.status).toBe(503);
    expect((JSON.parse((res.body as Buffer).toString('utf8')) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAVAILABLE');
    expect(ms).toBeGreaterThanOrEqual(STALL_BOUND_MS - 100);
    expect(ms).toBeLessThan(STALL_BOUND_MS + 5_000);
    // The log is written without blocking (a full pipe must not stall requests): give it a moment.
    const line = '/docker/registry/v2/repositories/stall/app/_manifests/tags/stuck/current/link: no answer from the storage within';
    for (let waited = 0; waited < 5_000 && !`${berth.stdout}${berth.stderr}`.includes(line); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(`${berth.stdout}${berth.stderr}`).toContain(line);
  }, 30_000);
});
