import { randomBytes } from 'node:crypto';
import { type BerthProcess, type BerthStartOptions, createTempDir, freePort, startBerth, type TempDir } from '@berth/testing';
import { e2eConfig } from '../../e2e/support/registry-under-test';
import { PrivateRedis } from '@berth/testing';

/** The compose topology (1 gateway, 2 upload, 2 manifest, 1 health) over a Redis of its own. */
export interface Topology {
  readonly berth: BerthProcess;
  readonly redis: PrivateRedis;
  /** The filesystem driver's root directory. */
  readonly root: string;
  /** `http.secret`, which every instance holds: what signs requests to the upload instances. */
  readonly secret: string;
  stop(): Promise<void>;
}

export async function startTopology(options: Pick<BerthStartOptions, 'serviceLogLevel'> = {}): Promise<Topology> {
  const work: TempDir = await createTempDir('berth-distributed-');
  const redis = await PrivateRedis.start();
  try {
    const root = `${work.path}/registry`;
    const secret = randomBytes(16).toString('hex');
    const config = { ...e2eConfig(root, await freePort(), { http: { secret } }), redis: { addr: redis.addr } };
    const berth = await startBerth({ config, topology: 'distributed', readyTimeoutMs: 60_000, ...options });
    return {
      berth,
      redis,
      root,
      secret,
      stop: async () => {
        await berth.stop();
        await redis.kill();
        await work.remove();
      },
    };
  } catch (error) {
    await redis.kill();
    await work.remove();
    throw error;
  }
}
