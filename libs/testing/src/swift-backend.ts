import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { backendScriptExports } from './backend-script';
import { freePort } from './free-port';

const runFile = promisify(execFile);

export interface SwiftBackend {
  /** tempauth: `http://127.0.0.1:PORT/auth/v1.0`. */
  authurl: string;
  /** `account:user`, as tempauth wants it. */
  username: string;
  password: string;
}

/**
 * The Swift all-in-one of test/backends/swift.sh: from the variables the test run exports,
 * or started here when they are unset, unless BERTH_REQUIRE_BACKENDS=1 says the run was
 * meant to provide it (then the tests fail rather than skip).
 */
export function swiftBackend(): SwiftBackend {
  const { BERTH_TEST_SWIFT_AUTHURL: authurl, BERTH_TEST_SWIFT_USERNAME: username, BERTH_TEST_SWIFT_PASSWORD: password } = process.env;
  if (authurl && username && password) return { authurl, username, password };
  if (process.env.BERTH_REQUIRE_BACKENDS === '1') {
    throw new Error('BERTH_TEST_SWIFT_AUTHURL is not set: start Swift with test/backends/swift.sh start and export what it prints');
  }
  const values = backendScriptExports('swift.sh');
  return {
    authurl: values.BERTH_TEST_SWIFT_AUTHURL ?? '',
    username: values.BERTH_TEST_SWIFT_USERNAME ?? '',
    password: values.BERTH_TEST_SWIFT_PASSWORD ?? '',
  };
}

/** A tempauth token and storage URL, for looking at the container behind the driver's back. */
export async function swiftSession(backend: SwiftBackend): Promise<SwiftStorageSession> {
  const response = await fetch(backend.authurl, { headers: { 'x-auth-user': backend.username, 'x-auth-key': backend.password } });
  await response.arrayBuffer();
  const token = response.headers.get('x-auth-token');
  const storageUrl = response.headers.get('x-storage-url');
  if (!response.ok || !token || !storageUrl) throw new Error(`tempauth at ${backend.authurl} answered ${response.status}`);
  return { token, storageUrl };
}

/** A token and the storage URL it opens: from tempauth (`swiftSession`) or from Keystone. */
export interface SwiftStorageSession {
  token: string;
  storageUrl: string;
}

/** Every object name in `container` (a plain `swift list`), as the tempauth admin or with a session. */
export async function listContainer(from: SwiftBackend | SwiftStorageSession, container: string): Promise<string[]> {
  const { token, storageUrl } = 'token' in from ? from : await swiftSession(from);
  const response = await fetch(`${storageUrl}/${container}?format=json&limit=10000`, { headers: { 'x-auth-token': token } });
  if (response.status === 204 || response.status === 404) return [];
  const entries = (await response.json()) as Array<{ name: string }>;
  return entries.map((entry) => entry.name);
}

/** Removes `container` and everything in it. */
export async function dropContainer(from: SwiftBackend | SwiftStorageSession, container: string): Promise<void> {
  const session = 'token' in from ? from : await swiftSession(from);
  const { token, storageUrl } = session;
  const names = await listContainer(session, container);
  for (const name of names) {
    const response = await fetch(`${storageUrl}/${container}/${name}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
    await response.arrayBuffer();
  }
  const response = await fetch(`${storageUrl}/${container}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
  await response.arrayBuffer();
}

/**
 * A Swift all-in-one of a test file's own (test/backends/swift.sh on another port, with its
 * own state directory), for faults the shared one on 8180 must never see: its proxy stopped,
 * tokens that expire within seconds.
 */
export class PrivateSwift {
  private constructor(
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `tokenLifeSeconds` sets tempauth's `token_life` (default one day). */
  static async start(options: { tokenLifeSeconds?: number } = {}): Promise<PrivateSwift> {
    const port = await freeSwiftPort();
    const env = { ...process.env, BERTH_SWIFT_PORT: String(port), BERTH_SWIFT_TOKEN_LIFE: String(options.tokenLifeSeconds ?? 86_400) };
    const swift = new PrivateSwift(port, env);
    await swift.script('start');
    return swift;
  }

  get backend(): SwiftBackend {
    return { authurl: `http://127.0.0.1:${this.port}/auth/v1.0`, username: 'admin:admin', password: 'admin' };
  }

  /** Stops the proxy alone: clients see connections refused or cut; the storage servers keep their data. */
  async stopProxy(): Promise<void> {
    await this.script('stop-proxy');
  }

  /** Starts the proxy again and waits until it hands out tokens. */
  async startProxy(): Promise<void> {
    await this.script('start');
  }

  /**
   * Freezes the proxy and its workers (SIGSTOP to its process group): connections are still
   * accepted by the kernel and never answered, a backend that hangs rather than refuses.
   */
  async pauseProxy(): Promise<void> {
    process.kill(-(await this.proxyPid()), 'SIGSTOP');
  }

  /** Lets a paused proxy run again: it answers what waited. */
  async resumeProxy(): Promise<void> {
    process.kill(-(await this.proxyPid()), 'SIGCONT');
  }

  /** Stops every server of this instance and removes its state directory. */
  async remove(): Promise<void> {
    await this.script('stop');
    await rm(this.stateDir(), { recursive: true, force: true });
  }

  /** swift.sh starts each server as the leader of its own process group; its pid is in run/. */
  private async proxyPid(): Promise<number> {
    return Number((await readFile(resolve(this.stateDir(), 'run', 'proxy-server.pid'), 'utf8')).trim());
  }

  private stateDir(): string {
    return resolve(swiftScript, '../../../.state', `swift-${this.port}`);
  }

  private async script(action: string): Promise<void> {
    await runFile('bash', [swiftScript, action], { env: this.env });
  }
}

const swiftScript = resolve(__dirname, '../../../test/backends/swift.sh');

/**
 * A proxy port whose storage servers and memcached (swift.sh places them at fixed offsets
 * from it) are free too.
 */
async function freeSwiftPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    const others = [port - 1870, port - 1869, port - 1868, port + 3431];
    if (others.every((other) => other > 1024 && other < 65536) && (await Promise.all(others.map(portIsFree))).every(Boolean)) return port;
  }
  throw new Error('no free port set for a private Swift');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

/**
 * Who owns each segment of `container`, read as Swift stores it: for every object under
 * `segments/`, the manifests under `files/` that name it (an SLO's entries, a DLO's prefix).
 * A segment with no owner is an orphan; one with two owners is distribution#2188.
 */
export async function segmentOwners(backend: SwiftBackend, container: string): Promise<Map<string, string[]>> {
  const { token, storageUrl } = await swiftSession(backend);
  const headers = { 'x-auth-token': token };
  const listing = await fetch(`${storageUrl}/${container}?format=json&limit=10000`, { headers });
  // An empty map must mean "no segments", never "the listing failed": callers assert over it.
  if (listing.status !== 200) throw new Error(`listing ${container} answered ${listing.status}, not 200`);
  const entries = (await listing.json()) as Array<{ name: string; bytes: number; slo_etag?: string }>;
  const owners = new Map(entries.filter((entry) => entry.name.startsWith('segments/')).map((entry) => [entry.name, [] as string[]]));
  for (const entry of entries.filter((candidate) => candidate.name.startsWith('files/'))) {
    let owned: string[] = [];
    if (entry.slo_etag !== undefined) {
      const manifest = await fetch(`${storageUrl}/${container}/${entry.name}?multipart-manifest=get`, { headers });
      owned = ((await manifest.json()) as Array<{ name: string }>).map((segment) => segment.name.slice(container.length + 2));
    } else if (entry.bytes === 0) {
      const head = await fetch(`${storageUrl}/${container}/${entry.name}`, { method: 'HEAD', headers });
      const prefix = decodeURIComponent(head.headers.get('x-object-manifest') ?? '').slice(container.length + 1);
      if (prefix) owned = [...owners.keys()].filter((name) => name.startsWith(prefix));
    }
    for (const name of owned) owners.set(name, [...(owners.get(name) ?? []), entry.name]);
  }
  return owners;
}
