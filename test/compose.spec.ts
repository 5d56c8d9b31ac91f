import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BerthProcess, createTempDir, distributedServices, freePort, repoRoot, startBerth, type TempDir } from '@berth/testing';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBlob, getManifest, pushImage } from './e2e/support/registry-client';

const run = promisify(execFile);

/** Runs a command; resolves with its exit code and output, whatever the code. */
async function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: repoRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number | string; stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') throw new Error(`${command} is not installed (test/backends/install.sh installs it)`);
    return { code: Number(failed.code), stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The secret compose requires; any value will do for parsing. */
const composeEnv = { REGISTRY_HTTP_SECRET: 'compose-spec-secret' };

/** `docker-compose … config`: the file as compose reads it (validated, interpolated, merged). */
function dockerCompose(args: readonly string[], env: NodeJS.ProcessEnv = composeEnv) {
  return exec('docker-compose', ['-f', join(repoRoot, 'docker-compose.yml'), ...args], env);
}

interface ComposeService {
  image?: string;
  build?: { context: string };
  entrypoint?: string[];
  command?: string[];
  ports?: { published: number; target: number }[];
  volumes?: string[];
  deploy?: { replicas?: number };
  scale?: number;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** Where the image keeps the program and the config (Dockerfile, docker-compose.yml). */
const imageMain = '/app/dist/main.js';
const imageConfig = '/etc/docker/registry/config.yml';

// No container engine runs in CI: Debian's docker-compose (1.29) parses and validates the file,
// and the same topology runs here as plain processes (startBerth's `distributed`).
describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  let volumes: Record<string, unknown>;
  /** The services that run berth, by the `--service` their command names. */
  let berthServices: { compose: string; service: string; replicas: number; definition: ComposeService }[];

  beforeAll(async () => {
    const { code, stdout, stderr } = await dockerCompose(['config']);
    expect(code, stderr).toBe(0);
    ({ services, volumes } = load(stdout) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> });
    berthServices = Object.entries(services)
      .filter(([, definition]) => definition.image === 'berth:latest')
      .map(([compose, definition]) => {
        const command = definition.command ?? [];
        return {
          compose,
          service: command[command.indexOf('--service') + 1] ?? '',
          // compose (1.29 and v2) counts deploy.replicas, else scale, else 1.
          replicas: definition.deploy?.replicas ?? definition.scale ?? 1,
          definition,
        };
      });
  });

  it('is a valid compose file to docker-compose, and needs the shared upload secret to run', async () => {
    const valid = await dockerCompose(['config', '-q']);
    expect(valid.code, valid.stderr).toBe(0);
    const listed = await dockerCompose(['config', '--services']);
    expect(listed.stdout.trim().split('\n').sort()).toEqual(['gateway', 'health', 'manifest', 'redis', 'upload']);

    const withoutSecret = await dockerCompose(['config', '-q'], { REGISTRY_HTTP_SECRET: '' });
    expect(withoutSecret.code).not.toBe(0);
    expect(withoutSecret.stderr).toContain('set REGISTRY_HTTP_SECRET');
  });

  it('runs the topology startBerth runs as processes: one gateway, then distributedServices, and one Redis', () => {
    const topology = berthServices.map(({ service, replicas }) => ({ service, count: replicas }));
    const expected = [{ service: 'gateway', count: 1 }, ...distributedServices];
    const byService = (a: { service: string }, b: { service: string }) => a.service.localeCompare(b.service);
    expect(topology.sort(byService)).toEqual([...expected].sort(byService));
    for (const { compose, service, definition } of berthServices) {
      expect(compose).toBe(service);
      // What startBerth runs, with the image's config path.
      expect(definition.command).toEqual(['serve', '--service', service, imageConfig]);
      expect(definition.build?.context).toBe(repoRoot);
    }
    expect(Object.keys(services).filter((name) => !berthServices.some(({ compose }) => compose === name))).toEqual(['redis']);
    expect(services.redis?.image).toMatch(/^redis:.*bookworm$/);
  });

  it('publishes port 5000 of the gateway and nothing else', () => {
    const published = Object.entries(services).filter(([, service]) => service.ports?.length);
    expect(published.map(([name, service]) => [name, service.ports])).toEqual([['gateway', [{ published: 5000, target: 5000 }]]]);
  });

  it('gives every berth container config/docker.yml and one shared named volume for storage', () => {
    expect(Object.keys(volumes)).toEqual(['registry']);
    for (const { compose, definition } of berthServices) {
      expect(definition.volumes, compose).toEqual([`${join(repoRoot, 'config', 'docker.yml')}:${imageConfig}:ro`, 'registry:/var/lib/registry:rw']);
    }
  });

  it('checks the health of every service, and starts each after what it needs is healthy', () => {
    for (const [name, service] of Object.entries(services)) expect(service.healthcheck?.test, name).toBeDefined();
    for (const { compose, service, definition } of berthServices) {
      expect(definition.healthcheck?.test, compose).toEqual(['CMD', 'node', imageMain, 'probe', '--service', service, imageConfig]);
      expect(definition.depends_on?.redis, compose).toEqual({ condition: 'service_healthy' });
    }
    const gatewayNeeds = Object.entries(services.gateway?.depends_on ?? {}).map(([name, { condition }]) => `${name}: ${condition}`);
    expect(gatewayNeeds.sort()).toEqual(['health', 'manifest', 'redis', 'upload'].map((name) => `${name}: service_healthy`));
  });

  it('runs the program the image is built with', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENTRYPOINT ["node", "${imageMain}"]`);
    expect(dockerfile).toContain(`COPY config/docker.yml ${imageConfig}`);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 5000$/m);
    // Every service runs the image's own program: no entrypoint of its own.
    for (const [name, service] of Object.entries(services)) if (name !== 'redis') expect(service.entrypoint, name).toBeUndefined();
  });

  it('config/docker.yml passes berth config check', async () => {
    const file = join(repoRoot, 'config', 'docker.yml');
    const { code, stdout, stderr } = await exec(process.execPath, [join(repoRoot, 'cli', 'dist', 'main.js'), 'config', 'check', file]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe(`${file}: ok`);
  });
});

// The compose topology as processes on config/docker.yml, with the REGISTRY_* overrides a
// container would not need (Redis, storage and ports of this machine), and each service's
// compose health check run as compose would, with the image's paths mapped onto the repository's.
describe('the compose topology as processes, with its health checks', () => {
  const dockerConfig = join(repoRoot, 'config', 'docker.yml');
  let work: TempDir;
  let berth: BerthProcess;
  let env: NodeJS.ProcessEnv;
  let healthchecks: Record<string, string[]>;

  beforeAll(async () => {
    const redisAddr = process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379';
    work = await createTempDir('berth-compose-');
    env = {
      ...composeEnv,
      REGISTRY_REDIS_ADDR: redisAddr,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(work.path, 'registry'),
      REGISTRY_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
      // In compose each upload container listens on its own address, port 5001; here they share one host.
      REGISTRY_BERTH_UPLOAD_ADDR: '127.0.0.1:0',
    };
    berth = await startBerth({ configFile: dockerConfig, topology: 'distributed', env, readyTimeoutMs: 60_000 });
    env.REGISTRY_BERTH_BUS_KEYPREFIX = berth.keyPrefix;
    const { stdout } = await dockerCompose(['config']);
    const services = (load(stdout) as { services: Record<string, ComposeService> }).services;
    healthchecks = Object.fromEntries(Object.entries(services).map(([name, service]) => [name, service.healthcheck?.test ?? []]));
  });

  afterAll(async () => {
    await berth?.stop();
    await work?.remove();
  });

  /** Runs a compose health check (`CMD node /app/dist/main.js …`) against the processes. */
  function healthcheck(service: string, extraEnv: NodeJS.ProcessEnv = {}) {
    const [form, program, ...args] = healthchecks[service] ?? [];
    expect(form).toBe('CMD');
    expect(program).toBe('node');
    const local = args.map((arg) => (arg === imageMain ? join(repoRoot, 'cli', 'dist', 'main.js') : arg === imageConfig ? dockerConfig : arg));
    return exec(process.execPath, local, { ...env, ...extraEnv });
  }

  it('serves a push and a pull with its 1 gateway, 2 upload, 2 manifest and 1 health on config/docker.yml', async () => {
    const counts = Object.fromEntries(['gateway', 'upload', 'manifest', 'health'].map((service) => [service, berth.instances.filter((i) => i.service === service).length]));
    expect(counts).toEqual({ gateway: 1, upload: 2, manifest: 2, health: 1 });
    const image = await pushImage(berth.url, 'compose/app', 'v1');
    expect((await getManifest(berth.url, 'compose/app', 'v1')).status).toBe(200);
    for (const blob of [image.config, ...image.layers]) expect((await getBlob(berth.url, 'compose/app', blob.digest)).status).toBe(200);
  });

  it('every service passes its health check', async () => {
    for (const service of ['gateway', 'upload', 'manifest', 'health']) {
      const { code, stdout, stderr } = await healthcheck(service);
      expect(code, `${service}: ${stdout}${stderr}`).toBe(0);
    }
    const upload = await healthcheck('upload');
    expect(upload.stdout).toMatch(/^upload: upload-\S+ is announced and its listener at 127\.0\.0\.1:\d+ answers/);
    expect((await healthcheck('gateway')).stdout.trim()).toBe(`gateway: GET ${berth.url}/v2/ answered 200`);
  });

  it('a health check fails when Redis does not answer', async () => {
    const unreachable = `127.0.0.1:${await freePort()}`;
    const { code, stderr } = await healthcheck('manifest', { REGISTRY_REDIS_ADDR: unreachable });
    expect(code).toBe(1);
    expect(stderr).toContain(`berth: Redis at ${unreachable}:`);
  });

  it("a service's health check fails once its instance has stopped", async () => {
    await berth.instances.find(({ service }) => service === 'health')!.process.stop();
    const health = await healthcheck('health');
    expect(health.code).toBe(1);
    expect(health.stderr).toMatch(/^berth: health: no instance of this host \(\S+\) is announced in Redis \(0 from elsewhere\)$/m);

    await berth.instances.find(({ service }) => service === 'gateway')!.process.stop();
    const gateway = await healthcheck('gateway');
    expect(gateway.code).toBe(1);
    expect(gateway.stderr).toContain(`berth: ${berth.url}/v2/: connect ECONNREFUSED`);
  });
});
