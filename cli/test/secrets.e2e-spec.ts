import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempDir, freePort, PrivateRedis, repoRoot, swiftBackend, type SwiftBackend, type TempDir } from '@berth/testing';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Every kind of secret the configuration can hold, each a value found nowhere else. */
const secret = {
  authUrlPassword: 'AuthUrlPassw0rd-7d1e',
  swiftPassword: 'SwiftPassw0rd-3b9a',
  swiftSecretKey: 'SwiftTempUrlKey-51c0',
  httpSecret: 'HttpSecret-e62f',
  headerToken: 'HeaderBearerToken-0a4d',
  headerApiKey: 'HeaderApiKey-9c7b',
  redisPassword: 'RedisPassw0rd-28f3',
  proxyPassword: 'ProxyPassw0rd-c5e8',
  proxyUrlPassword: 'ProxyUrlPassw0rd-4f61',
  logFieldPassword: 'LogFieldPassw0rd-b3a2',
};

/** The same secrets set through REGISTRY_* instead of the file. */
const envSecret = {
  swiftPassword: 'EnvSwiftPassw0rd-8e2c',
  authUrlPassword: 'EnvAuthUrlPassw0rd-1f9d',
  httpSecret: 'EnvHttpSecret-6a0b',
  redisPassword: 'EnvRedisPassw0rd-d47e',
  proxyPassword: 'EnvProxyPassw0rd-93b5',
};

const allSecrets = [...Object.values(secret), ...Object.values(envSecret)];

type Storage = Record<string, unknown>;

/** A configuration holding every secret, on `storage`, with `redis` when a service runs apart. */
function configWith(storage: Storage, redisAddr?: string): Record<string, unknown> {
  return {
    version: 0.1,
    log: { formatter: 'json', fields: { password: secret.logFieldPassword } },
    storage,
    http: {
      addr: '127.0.0.1:0',
      secret: secret.httpSecret,
      headers: { Authorization: [`Bearer ${secret.headerToken}`], 'X-Api-Key': [secret.headerApiKey] },
    },
    ...(redisAddr === undefined ? {} : { redis: { addr: redisAddr, password: secret.redisPassword } }),
    proxy: {
      remoteurl: `https://someone:${secret.proxyUrlPassword}@registry-1.docker.io`,
      username: 'someone',
      password: secret.proxyPassword,
    },
  };
}

interface Outcome {
  output: string;
}

/**
 * Runs `berth serve ARGS CONFIG` until it exits, or, when it keeps running (start-up waits for
 * a Redis or a storage backend that is away or refuses it), until it has printed `said` (by
 * default its last words, `berth: …`) or begun to repeat itself (a warning seen twice: the
 * retries have begun, start-up is over); then stops it with SIGTERM and collects everything
 * it printed, shutdown included.
 */
async function serveUntilFailed(
  work: TempDir,
  config: Record<string, unknown>,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  said: RegExp = /^berth: /m,
): Promise<Outcome> {
  const file = join(work.path, `config-${randomUUID()}.yml`);
  await writeFile(file, dump(config));
  const child = spawn(process.execPath, [join(repoRoot, 'cli/dist/main.js'), 'serve', ...args, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const messages = new Set<string>();
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    let repeated = false;
    for (const line of output.split('\n').slice(0, -1)) {
      const message = /"level":"(?:warning|error)".*"msg":("(?:[^"\\]|\\.)*")/.exec(line)?.[1];
      if (message !== undefined && messages.has(message)) repeated = true;
      if (message !== undefined) messages.add(message);
    }
    messages.clear();
    if ((repeated || said.test(output)) && child.exitCode === null) child.kill('SIGTERM');
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  await new Promise((resolve) => child.once('close', resolve));
  return { output };
}

function expectNoSecret(outcome: Outcome): void {
  for (const value of allSecrets) expect(outcome.output, `${value} printed`).not.toContain(value);
}

describe('no secret in any line berth prints when it cannot start', () => {
  let work: TempDir;
  let swift: SwiftBackend;
  let redis: PrivateRedis;
  const rightRedisPassword = 'the-one-redis-accepts';

  beforeAll(async () => {
    work = await createTempDir('berth-secrets-');
    swift = swiftBackend();
    redis = await PrivateRedis.start();
    await redis.command('CONFIG', 'SET', 'requirepass', rightRedisPassword);
  }, 120_000);

  afterAll(async () => {
    await redis?.kill();
    await work?.remove();
  });

  const swiftStorage = (overrides: Storage): Storage => ({
    swift: { authurl: swift.authurl, username: swift.username, password: secret.swiftPassword, secretkey: secret.swiftSecretKey, container: 'berth-secrets', ...overrides },
  });
  const withCredentials = (authurl: string, password: string) => authurl.replace('://', `://admin:${password}@`);
  const filesystem = (): Storage => ({ filesystem: { rootdirectory: join(work.path, 'root') } });

  it('Swift refusing an auth URL with credentials in it', async () => {
    const outcome = await serveUntilFailed(work, configWith(swiftStorage({ authurl: withCredentials(swift.authurl, secret.authUrlPassword) })), []);
    expect(outcome.output).toMatch(/^berth: swift: authentication failed: http:\/\/admin:\*\*\*\*\*@/m);
    expectNoSecret(outcome);
  });

  it('Swift refusing the password, set from REGISTRY_STORAGE_SWIFT_PASSWORD', async () => {
    const outcome = await serveUntilFailed(work, configWith(swiftStorage({})), [], { REGISTRY_STORAGE_SWIFT_PASSWORD: envSecret.swiftPassword, REGISTRY_HTTP_SECRET: envSecret.httpSecret });
    expect(outcome.output).toMatch(/^berth: swift: authentication failed/m);
    expectNoSecret(outcome);
  });

  it('Swift unreachable, its auth URL with credentials from REGISTRY_STORAGE_SWIFT_AUTHURL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/auth/v1.0`;
    // Start-up waits for a backend it cannot reach (issue 15): its one line is what it says.
    const waiting = /waiting for the storage backend \(swift\) to answer: ECONNREFUSED/;
    const outcome = await serveUntilFailed(
      work,
      configWith(swiftStorage({})),
      [],
      { REGISTRY_STORAGE_SWIFT_AUTHURL: withCredentials(closed, envSecret.authUrlPassword), REGISTRY_PROXY_PASSWORD: envSecret.proxyPassword },
      waiting,
    );
    expect(outcome.output).toMatch(waiting);
    expectNoSecret(outcome);
  });

  it.each(['manifest', 'gateway', 'upload'])('--service %s with a Redis that refuses the password', async (service) => {
    const outcome = await serveUntilFailed(work, configWith(filesystem(), redis.addr), ['--service', service], {}, /WRONGPASS/);
    expect(outcome.output).toContain('WRONGPASS');
    expectNoSecret(outcome);
  });

  it('--service manifest with the Redis password from REGISTRY_REDIS_PASSWORD, refused', async () => {
    const outcome = await serveUntilFailed(work, configWith(filesystem(), redis.addr), ['--service', 'manifest'], { REGISTRY_REDIS_PASSWORD: envSecret.redisPassword }, /WRONGPASS/);
    expect(outcome.output).toContain('WRONGPASS');
    expectNoSecret(outcome);
  });

  it('--service gateway with Redis unreachable', async () => {
    const outcome = await serveUntilFailed(
      work,
      configWith(filesystem(), `127.0.0.1:${await freePort()}`),
      ['--service', 'gateway'],
      { REGISTRY_REDIS_PASSWORD: envSecret.redisPassword },
      /ECONNREFUSED/,
    );
    expect(outcome.output).toContain('ECONNREFUSED');
    expectNoSecret(outcome);
  });

  it('a configuration that does not validate', async () => {
    const config = { ...configWith(filesystem()), http: { addr: '127.0.0.1:0', secret: secret.httpSecret, hedaers: {} } };
    const outcome = await serveUntilFailed(work, config, [], { REGISTRY_STORAGE_SWIFT_PASSWORD: envSecret.swiftPassword, REGISTRY_REDIS_PASSWORD: envSecret.redisPassword });
    expect(outcome.output).toContain('http.hedaers: unknown key');
    expectNoSecret(outcome);
  });
});
