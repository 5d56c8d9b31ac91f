import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

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
  const script = resolve(__dirname, '../../../test/backends/swift.sh');
  const exports = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const values = Object.fromEntries([...exports.matchAll(/^export (\w+)=(.*)$/gm)].map((match) => [match[1], match[2]]));
  return {
    authurl: values.BERTH_TEST_SWIFT_AUTHURL ?? '',
    username: values.BERTH_TEST_SWIFT_USERNAME ?? '',
    password: values.BERTH_TEST_SWIFT_PASSWORD ?? '',
  };
}

/** A tempauth token and storage URL, for looking at the container behind the driver's back. */
export async function swiftSession(backend: SwiftBackend): Promise<{ token: string; storageUrl: string }> {
  const response = await fetch(backend.authurl, { headers: { 'x-auth-user': backend.username, 'x-auth-key': backend.password } });
  await response.arrayBuffer();
  const token = response.headers.get('x-auth-token');
  const storageUrl = response.headers.get('x-storage-url');
  if (!response.ok || !token || !storageUrl) throw new Error(`tempauth at ${backend.authurl} answered ${response.status}`);
  return { token, storageUrl };
}

/** Every object name in `container` (a plain `swift list`). */
export async function listContainer(backend: SwiftBackend, container: string): Promise<string[]> {
  const { token, storageUrl } = await swiftSession(backend);
  const response = await fetch(`${storageUrl}/${container}?format=json&limit=10000`, { headers: { 'x-auth-token': token } });
  if (response.status === 204 || response.status === 404) return [];
  const entries = (await response.json()) as Array<{ name: string }>;
  return entries.map((entry) => entry.name);
}

/** Removes `container` and everything in it. */
export async function dropContainer(backend: SwiftBackend, container: string): Promise<void> {
  const { token, storageUrl } = await swiftSession(backend);
  const names = await listContainer(backend, container);
  for (const name of names) {
    const response = await fetch(`${storageUrl}/${container}/${name}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
    await response.arrayBuffer();
  }
  const response = await fetch(`${storageUrl}/${container}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
  await response.arrayBuffer();
}
