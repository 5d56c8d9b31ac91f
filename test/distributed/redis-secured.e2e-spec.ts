import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type BerthProcess, createTempDir, freePort, makeTestCa, PrivateRedis, startBerth, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBlob, getManifest, pushImage } from '../e2e/support/registry-client';
import { e2eConfig } from '../e2e/support/registry-under-test';

/**
 * Issue 16, item 6: the distributed topology over a Redis that speaks only TLS (a CA made here),
 * asks for a password, and gives berth an ACL user that may touch nothing but keys and channels
 * under its `berth.bus.keyprefix`.
 */
describe('the distributed topology over a TLS Redis, as an ACL user confined to its key prefix', () => {
  let work: TempDir;
  let redis: PrivateRedis;
  let berth: BerthProcess;

  beforeAll(async () => {
    work = await createTempDir('berth-redis-secured-');
    const ca = await makeTestCa(work.path);
    redis = await PrivateRedis.start({ password: 'admin-only', tls: { certificate: ca.server.certPath, key: ca.server.keyPath, ca: ca.ca } });
    await redis.command('ACL', 'SETUSER', 'registry', 'on', '>registry-secret', '~secured:*', '&secured:*', '+@all');
    const config = {
      ...e2eConfig(join(work.path, 'root'), await freePort()),
      redis: { addr: redis.addr, username: 'registry', password: 'registry-secret', tls: { rootcas: [ca.ca] } },
      // Upload purging's BullMQ jobs run under this prefix too.
      berth: { bus: { keyprefix: 'secured' } },
    };
    berth = await startBerth({ config, topology: 'distributed', readyTimeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await berth?.stop();
    await redis?.kill();
    await work?.remove();
  });

  it('pushes and pulls an image, and every key berth wrote is under its prefix', async () => {
    const image = await pushImage(berth.url, 'secured/app', 'v1');
    const manifest = await getManifest(berth.url, 'secured/app', 'v1');
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(image.digest);
    const layer = await getBlob(berth.url, 'secured/app', image.layers[0]!.digest);
    expect(`sha256:${createHash('sha256').update(layer.body as Buffer).digest('hex')}`).toBe(image.layers[0]!.digest);
    const keys = (await redis.command('KEYS', '*')).split('\n').filter((key) => key !== '');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith('secured:'))).toEqual([]);
    // Nothing was refused on the way (a NOPERM would be logged by the instance that met it).
    for (const instance of berth.instances) expect(instance.process.stderr).not.toMatch(/NOPERM|WRONGPASS|NOAUTH/);
  });
});
