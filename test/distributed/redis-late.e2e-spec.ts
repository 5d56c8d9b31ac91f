import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTempDir, freePort, PrivateRedis, repoRoot, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getManifest, pushImage } from '../e2e/support/registry-client';
import { e2eConfig } from '../e2e/support/registry-under-test';

const run = promisify(execFile);
const main = join(repoRoot, 'cli/dist/main.js');
const services = ['gateway', 'upload', 'manifest'] as const;

/** One `berth serve --service NAME CONFIG` and everything it has written to stderr (its log). */
interface Instance {
  readonly service: (typeof services)[number];
  readonly child: ChildProcess;
  log: string;
}

/** Waits until `predicate` holds, checking every 100 ms; fails after `timeoutMs` saying what it waited for. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Issue 15, item 2: instances started while Redis is down wait for it in one log line, join
 * when it comes, and join again when it comes back empty (a restart without persistence).
 */
describe('instances started before their Redis', () => {
  let work: TempDir;
  let redis: PrivateRedis;
  let configFile: string;
  let url: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    work = await createTempDir('berth-redis-late-');
    redis = await PrivateRedis.start();
    await redis.kill();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // One secret for every instance: --service upload and gateway refuse to start without one.
    const config = { ...e2eConfig(join(work.path, 'root'), port, { http: { secret: 'redis-late' } }), redis: { addr: redis.addr }, berth: { bus: { keyprefix: 'late' } } };
    configFile = join(work.path, 'config.yml');
    await writeFile(configFile, dump(config));
  });

  afterAll(async () => {
    await Promise.all(
      instances.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await redis?.kill();
    await work?.remove();
  });

  async function probe(service: string): Promise<boolean> {
    return run(process.execPath, [main, 'probe', '--service', service, configFile]).then(
      () => true,
      () => false,
    );
  }

  async function expectPushAndPull(repo: string): Promise<void> {
    const image = await pushImage(url, repo, 'v1');
    const pulled = await getManifest(url, repo, 'v1');
    expect(pulled.status).toBe(200);
    expect(Buffer.from(pulled.body as Buffer).equals(image.bytes)).toBe(true);
  }

  it('wait for Redis in one line, then announce themselves and serve', async () => {
    for (const service of services) {
      const child = spawn(process.execPath, [main, 'serve', '--service', service, configFile], {
        env: { ...process.env, REGISTRY_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const instance: Instance = { service, child, log: '' };
      child.stderr.on('data', (chunk: Buffer) => (instance.log += chunk.toString('utf8')));
      instances.push(instance);
    }
    for (const instance of instances) {
      await until(`${instance.service} says it waits for Redis\n${instance.log}`, () => instance.log.includes(`waiting for Redis at ${redis.addr}`));
    }
    expect(instances.map(({ log }) => log).join('')).not.toMatch(/MaxRetriesPerRequestError|\n\s+at /);
    expect(instances.every(({ child }) => child.exitCode === null)).toBe(true);

    await redis.restart();
    for (const instance of instances) {
      await until(`${instance.service} serves\n${instance.log}`, () => instance.log.includes(`serving ${instance.service} as`));
    }
    for (const service of services) expect(await probe(service), `berth probe --service ${service}`).toBe(true);
    await expectPushAndPull('late/first');
  });

  it('announce themselves again when Redis comes back empty, and requests through the gateway work', async () => {
    await redis.kill();
    await redis.restart(); // empty: no persistence
    for (const service of ['upload', 'manifest']) await until(`${service} is announced again`, () => probe(service));
    await expectPushAndPull('late/second');
    // Nothing pushed before the restart is lost: Redis is a bus, never the truth.
    expect((await getManifest(url, 'late/first', 'v1')).status).toBe(200);
  });
});
