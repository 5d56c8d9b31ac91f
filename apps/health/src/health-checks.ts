import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { type BerthConfig, formatGoDuration, parseListenAddress } from '@berth/config';
import { READ_PROBE_CHECK, withTimeout, WRITE_PROBE_CHECK } from '@berth/contracts';
import { PathNotFoundError, pathExists, type StorageDriver } from '@berth/storage-driver';

/** One check `health:` names: fails by throwing; `threshold` failures in a row make it unhealthy. */
export interface HealthCheck {
  readonly name: string;
  readonly intervalMs: number;
  readonly threshold: number;
  run(): Promise<void>;
}

/**
 * The checks of `health:`, named as the reference names them (registry/handlers/app.go):
 * `storagedriver_<driver>`, each file's path, each URI, each TCP address. A threshold of 0
 * counts the first failure, as the reference's plain periodic checker does. A check without
 * a timeout (the storage driver's has no key for one) gives up after its interval: a backend
 * or endpoint that never answers fails the check rather than holding it.
 */
export function configuredChecks(config: BerthConfig, driver: StorageDriver): HealthCheck[] {
  const { storagedriver, file, http, tcp } = config.health;
  const atLeastOne = (threshold: number) => Math.max(threshold, 1);
  return [
    ...(storagedriver.enabled
      ? [
          {
            name: `storagedriver_${driver.name}`,
            intervalMs: storagedriver.interval,
            threshold: storagedriver.threshold,
            run: () => withTimeout(statRoot(driver), storagedriver.interval, `${driver.name}: no answer within ${formatGoDuration(storagedriver.interval)}`),
          },
        ]
      : []),
    ...(config.berth.health.storageprobe.enabled
      ? [
          {
            name: WRITE_PROBE_CHECK,
            intervalMs: storagedriver.interval,
            threshold: storagedriver.threshold,
            run: () => withTimeout(writeProbe(driver), storagedriver.interval, `${driver.name}: no answer within ${formatGoDuration(storagedriver.interval)}`),
          },
          {
            name: READ_PROBE_CHECK,
            intervalMs: storagedriver.interval,
            threshold: storagedriver.threshold,
            run: () => withTimeout(readProbe(driver), storagedriver.interval, `${driver.name}: no answer within ${formatGoDuration(storagedriver.interval)}`),
          },
        ]
      : []),
    ...file.map((check) => ({ name: check.file, intervalMs: check.interval, threshold: atLeastOne(check.threshold), run: () => fileAbsent(check.file) })),
    ...http.map((check) => ({
      name: check.uri,
      intervalMs: check.interval,
      threshold: atLeastOne(check.threshold),
      run: () => httpAnswers(check.uri, check.headers, check.statuscode, check.timeout ?? check.interval),
    })),
    ...tcp.map((check) => ({
      name: check.addr,
      intervalMs: check.interval,
      threshold: atLeastOne(check.threshold),
      run: () => tcpConnects(check.addr, check.timeout ?? check.interval),
    })),
  ];
}

/**
 * The backend answers: every driver's stat of the root reaches its backend (Swift: a HEAD of
 * the container). An empty storage (root not found) is healthy.
 */
async function statRoot(driver: StorageDriver): Promise<void> {
  await pathExists(driver, '/');
}

/** Where the probes write and read: outside `docker/`, which the reference reads, so it never sees them. */
const PROBE_FOLDER = '/berth/health';
/** One object per process: two health instances never remove each other's. */
const writeProbePath = `${PROBE_FOLDER}/writeprobe-${randomBytes(6).toString('hex')}`;

/** The storage takes a write: a small object put, read back whole, and removed. */
async function writeProbe(driver: StorageDriver): Promise<void> {
  const content = Buffer.from(`berth write probe ${new Date().toISOString()}\n`);
  await driver.putContent(writeProbePath, content);
  try {
    const read = await driver.getContent(writeProbePath);
    if (!read.equals(content)) throw new Error(`${driver.name}: the write probe read back ${read.length} bytes that differ from the ${content.length} written`);
  } finally {
    await driver.delete(writeProbePath);
  }
}

/** The storage answers a read of an object (that none is there is an answer too), without writing. */
async function readProbe(driver: StorageDriver): Promise<void> {
  await driver.getContent(`${PROBE_FOLDER}/readprobe`).catch((error: unknown) => {
    if (!(error instanceof PathNotFoundError)) throw error;
  });
}

/** The reference's file check, an operator's switch: unhealthy while the file exists. */
async function fileAbsent(file: string): Promise<void> {
  const found = await stat(file).then(
    () => true,
    () => false,
  );
  if (found) throw new Error('file exists');
}

async function httpAnswers(uri: string, headers: Record<string, string[]>, expected: number, timeoutMs: number): Promise<void> {
  const request = Object.fromEntries(Object.entries(headers).map(([name, values]) => [name, values.join(', ')]));
  const response = await fetch(uri, { headers: request, signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  if (response.status !== expected) throw new Error(`downstream service returned unexpected status: ${response.status}`);
}

async function tcpConnects(addr: string, timeoutMs: number): Promise<void> {
  const { host, port } = parseListenAddress(addr, 'health.tcp.addr');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new Error(`connection to ${addr} failed: ${reason}`));
    };
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (error) => fail(error.message));
  });
}
