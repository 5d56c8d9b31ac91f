import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createTempDir, freePort, startBerth, startReferenceRegistry } from '@berth/testing';

/**
 * The server these tests drive. `berth` (the default) is the built `berth serve CONFIG`;
 * `BERTH_E2E_TARGET=distributed` is the same build as separate processes over Redis
 * (1 gateway, 2 upload, 2 manifest, 1 health: `startBerth`'s distributed topology);
 * `BERTH_E2E_TARGET=reference` runs the very same tests against Distribution 2.8
 * (`docker-registry`), which is how the expectations here were checked against the registry
 * berth replaces. Tests of what berth does beyond the reference are marked with
 * {@link beyondReference}: against the reference they must fail, never skip.
 */
export type E2eTarget = 'berth' | 'distributed' | 'reference';

export const e2eTarget: E2eTarget = targetFromEnvironment();

function targetFromEnvironment(): E2eTarget {
  const value = process.env.BERTH_E2E_TARGET ?? 'berth';
  if (value !== 'berth' && value !== 'distributed' && value !== 'reference') {
    throw new Error(`BERTH_E2E_TARGET must be "berth", "distributed" or "reference", not "${value}"`);
  }
  return value;
}

export interface RegistryUnderTest {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /** The filesystem driver's root directory: `docker/registry/v2/...` lives in here. */
  readonly root: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Merged into `storage` beside `filesystem` and `delete`: `maintenance`, … */
  readonly storage?: Record<string, unknown>;
  readonly deleteEnabled?: boolean;
  /** Serve from this root instead of a fresh one (a second process over the first one's data). */
  readonly root?: string;
  /** Merged into `http` beside `addr` and `headers`: `host`, `relativeurls`, … */
  readonly http?: Record<string, unknown>;
  /** The `auth` section, the same for berth and the reference. */
  readonly auth?: Record<string, unknown>;
  /** berth's own section; left out of the reference's config, which has no such key. */
  readonly berth?: Record<string, unknown>;
}

/** The header every response must carry, errors included (`http.headers` in the config). */
export const configuredHeader = { name: 'x-content-type-options', value: 'nosniff' } as const;

/** The config the brief fixes for every e2e file: fresh filesystem root, deletes on, one loopback port. */
export function e2eConfig(root: string, port: number, options: RegistryOptions = {}): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: root },
      delete: { enabled: options.deleteEnabled ?? true },
      ...options.storage,
    },
    http: { addr: `127.0.0.1:${port}`, headers: { 'X-Content-Type-Options': ['nosniff'] }, ...options.http },
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.berth && e2eTarget !== 'reference' ? { berth: options.berth } : {}),
  };
}

/** Starts the target on a fresh temp root (or `options.root`); `stop()` also removes what it created. */
export async function startRegistryUnderTest(options: RegistryOptions = {}): Promise<RegistryUnderTest> {
  const work = options.root === undefined ? await createTempDir('berth-e2e-') : undefined;
  const root = options.root ?? join(work!.path, 'registry');
  const port = await freePort();
  const config = e2eConfig(root, port, options);
  try {
    if (e2eTarget === 'reference') {
      const reference = await startReferenceRegistry({ rootDirectory: root, port, extraConfig: config });
      return { url: reference.url, root, stop: async () => (await reference.stop(), await work?.remove()) };
    }
    const berth = await startBerth({ config, topology: e2eTarget === 'distributed' ? 'distributed' : 'all-in-one' });
    return { url: berth.url, root, stop: async () => (await berth.stop(), await work?.remove()) };
  } catch (error) {
    await work?.remove();
    throw error;
  }
}

/**
 * A test of behaviour the spec (or DESIGN.md) asks of berth that Distribution 2.8 lacks or
 * gets wrong (`reason` says which). Against berth it is an ordinary test; against the
 * reference it must fail with `referenceAnswer`, the message of the first expectation the
 * reference's own answer breaks (its status, its body): a reference that started passing, or
 * that failed some other way (a crash, a timeout, a broken test), is noticed. Given a function
 * instead, the reference runs that: a test of the answer it gives.
 */
export function beyondReference(
  reason: string,
  referenceAnswer: RegExp | (() => Promise<void>),
  name: string,
  fn: () => Promise<void>,
): void {
  if (e2eTarget !== 'reference') {
    it(name, fn);
    return;
  }
  const expected = referenceAnswer;
  if (typeof expected === 'function') {
    it(`${name} [reference: ${reason}]`, expected);
    return;
  }
  it(`${name} [reference: ${reason}]`, async () => {
    const failure = await fn().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure, 'the reference passed a test of behaviour beyond it').toBeInstanceOf(Error);
    const { message } = failure as Error;
    expect(message, message).toMatch(expected);
  });
}
