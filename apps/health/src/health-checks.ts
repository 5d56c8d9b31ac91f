import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { type BerthConfig, formatGoDuration, parseListenAddress } from '@berth/config';
import { withTimeout } from '@berth/contracts';
import { pathExists, type StorageDriver } from '@berth/storage-driver';

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
