import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { openRedis, redisSettingsFrom, ServiceDirectory } from '@berth/bus';
import { withTimeout } from '@berth/contracts';
import { type BerthConfig, parseListenAddress } from '@berth/config';
import { UPLOAD_SERVICE } from '@berth/contracts';
import { ProbeFailure } from './failures';
import type { ServiceName } from './serve-service';

export { ProbeFailure };

/** How long a probe waits for Redis or a listener: under the compose health checks' timeout. */
const PROBE_TIMEOUT_MS = 4_000;

/**
 * Whether the instance of `service` running on this host (in this container) serves: the
 * gateway answers `GET /v2/` on `http.addr`; any other service is announced in Redis (its
 * heartbeat is alive) and an upload instance's internal listener answers on the address it
 * announced, which is the one the gateway dials. Returns what it saw; throws ProbeFailure.
 */
export async function probe(config: BerthConfig, service: ServiceName): Promise<string> {
  if (service === 'gateway') return probeGateway(config);
  const redis = openRedis(redisSettingsFrom(config), 'command', `probe-${service}-${hostname()}`);
  try {
    const directory = new ServiceDirectory(redis, config.berth.bus.keyprefix);
    const instances = await answer(directory.list(service === 'upload' ? UPLOAD_SERVICE : service), `Redis at ${config.redis?.addr ?? ''}`);
    // serveService names each instance `<service>-<hostname>-<pid>-<random>`; a container
    // has a hostname of its own, so this finds the container's instance among the replicas.
    const local = instances.find((instance) => instance.id.startsWith(`${service}-${hostname()}-`));
    if (local === undefined) {
      throw new ProbeFailure(`${service}: no instance of this host (${hostname()}) is announced in Redis (${instances.length} from elsewhere)`);
    }
    if (local.address === '') return `${service}: ${local.id} is announced`;
    const status = await httpStatus(`http://${local.address}/`, `${local.id}'s listener at ${local.address}`);
    return `${service}: ${local.id} is announced and its listener at ${local.address} answers (${status})`;
  } finally {
    redis.disconnect();
  }
}

async function probeGateway(config: BerthConfig): Promise<string> {
  const { host, port } = parseListenAddress(config.http.addr);
  // A wildcard address listens on loopback too.
  const reachable = host === undefined || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const tls = config.http.tls?.certificate ? config.http.tls : undefined;
  const url = `${tls ? 'https' : 'http'}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/v2/`;
  let status: number;
  try {
    status = await httpStatus(url, url);
  } catch (error) {
    // With clientcas the probe has no client certificate: a refused handshake still proves a listener.
    if (tls?.clientcas?.length && /alert|certificate/i.test((error as Error).message)) return `gateway: ${url} refused a client without certificate (clientcas)`;
    throw error;
  }
  // 401: the registry serves and asks for credentials; 503: the health gate is closed.
  if (status !== 200 && status !== 401) throw new ProbeFailure(`gateway: GET ${url} answered ${status}`);
  return `gateway: GET ${url} answered ${status}`;
}

/** The status of a GET to `url`; any answer proves a listener, none within the timeout fails. */
function httpStatus(url: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A liveness check on this host: whether the certificate is trusted is not its question.
    const send = url.startsWith('https:') ? httpsRequest : request;
    const req = send(url, { timeout: PROBE_TIMEOUT_MS, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.on('error', (error) => reject(new ProbeFailure(`${what}: ${error.message}`)));
    req.end();
  });
}

/** `promise`'s value, or a ProbeFailure naming `what` when it fails or takes too long. */
function answer<T>(promise: Promise<T>, what: string): Promise<T> {
  return withTimeout(promise, PROBE_TIMEOUT_MS, `no answer within ${PROBE_TIMEOUT_MS} ms`).catch((error: unknown) => {
    throw new ProbeFailure(`${what}: ${(error as Error).message}`);
  });
}
