import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from './http-relay';

export interface IdentityEndpointOptions {
  /** The real Swift's tempauth URL (`http://127.0.0.1:PORT/auth/v1.0`), where tokens come from. */
  swiftAuthUrl: string;
  /** The lifetime the answers advertise; shorter than tempauth's to make clients renew early. */
  tokenLifetimeSeconds?: number;
  /**
   * The catalog entry a client is meant to pick, listed last (default `RegionOne`, `public`):
   * a client that takes the first entry instead, or ignores `region` or `endpointtype`, talks
   * to another entry, and `storageRequests` shows it.
   */
  wanted?: { region?: string; interface?: EndpointInterface };
}

export type EndpointInterface = 'public' | 'internal' | 'admin';

/** One request a client sent to an object-store URL of the catalog. */
export interface StorageRequest {
  region: string;
  interface: EndpointInterface;
  method: string;
  status: number;
}

/** One token request as received, for tests that check what a client sent. */
export interface IdentityRequest {
  /** The Keystone API version it used: always 2.0 here (v3 is tested against a real Keystone). */
  version: 2;
  body: unknown;
  /** What the endpoint answered. */
  status: number;
}

export interface IdentityEndpoint {
  /** `http://127.0.0.1:PORT`; Keystone v2.0 lives under `/v2.0`. */
  readonly url: string;
  readonly v2Url: string;
  readonly requests: readonly IdentityRequest[];
  /** Every request to the catalog's object-store URLs, with the entry it went through. */
  readonly storageRequests: readonly StorageRequest[];
  /** The next `count` tokens handed out are ones Swift does not know: it answers them 401. */
  handOutRefusedTokens(count: number): void;
  close(): Promise<void>;
}

/**
 * A small Keystone v2.0 stand-in for tests: Keystone dropped v2.0 years ago, and the seed
 * configuration authenticates with it (v3 is tested against a real Keystone, keystone-backend.ts).
 * It answers `POST /v2.0/tokens` by asking the real Swift's tempauth for a token with the same
 * credentials (user `<project>:<username>`, key `<password>`) and hands that token out in
 * a service catalog. Each region (the wanted one and `RegionTwo`) and interface has an
 * object-store URL of its own on this endpoint, `/swift/<region>/<interface>/v1/AUTH_…`, which
 * relays to the real Swift's storage URL and records the call. A client that passes through
 * it therefore talks to a real Swift with a real token, and the test sees which entry it chose.
 */
export async function startIdentityEndpoint(options: IdentityEndpointOptions): Promise<IdentityEndpoint> {
  const requests: IdentityRequest[] = [];
  const storageRequests: StorageRequest[] = [];
  let refusedToHandOut = 0;
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const wanted = { region: options.wanted?.region ?? 'RegionOne', interface: options.wanted?.interface ?? 'public' };
  const regions = ['RegionTwo', wanted.region];
  /** Where `/swift/<region>/<interface>/…` goes: the origin of the storage URL tempauth gave. */
  let swiftOrigin: string | undefined;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answer(res, 500, { error: { code: 500, message: String(error) } }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const storage = /^\/swift\/([^/]+)\/(public|internal|admin)(\/.*)$/.exec(req.url ?? '');
    if (storage !== null && swiftOrigin !== undefined) {
      const [, entryRegion, entryInterface, rest] = storage as unknown as [string, string, EndpointInterface, string];
      forward(req, res, `${swiftOrigin}${rest}`, (status) =>
        storageRequests.push({ region: entryRegion, interface: entryInterface, method: req.method ?? '', status }),
      );
      return;
    }
    const path = (req.url ?? '').split('?')[0]!.replace(/\/+$/, '');
    if (req.method !== 'POST' || path !== '/v2.0/tokens') {
      answer(res, 404, { error: { code: 404, message: `no route for ${req.method} ${path}` } });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      record(undefined, 400);
      answer(res, 400, { error: { code: 400, message: 'the body is not JSON' } });
      return;
    }
    const credentials = v2Credentials(body);
    if ('problem' in credentials) {
      record(body, 400);
      answer(res, 400, { error: { code: 400, message: credentials.problem } });
      return;
    }
    const swift = await tempauthToken(options.swiftAuthUrl, `${credentials.project}:${credentials.username}`, credentials.password);
    if (swift === undefined) {
      record(body, 401);
      answer(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.' } });
      return;
    }
    let token = swift.token;
    if (refusedToHandOut > 0) {
      refusedToHandOut--;
      token = `AUTH_tk${randomBytes(16).toString('hex')}`;
    }
    const issued = new Date();
    const expires = new Date(issued.getTime() + lifetime * 1000);
    const storageUrl = new URL(swift.storageUrl);
    swiftOrigin = storageUrl.origin;
    const objectStore = (region: string, kind: EndpointInterface) => `${url}/swift/${region}/${kind}${storageUrl.pathname}`;
    record(body, 200);
    // v2.0 lists one entry per region, with a URL per interface.
    const storeEntry = (name: string) => ({
      region: name,
      publicURL: objectStore(name, 'public'),
      internalURL: objectStore(name, 'internal'),
      adminURL: objectStore(name, 'admin'),
    });
    const identityUrl = `${url}/v2.0`;
    answer(res, 200, {
      access: {
        token: { id: token, issued_at: issued.toISOString(), expires: expires.toISOString(), tenant: { id: credentials.project, name: credentials.project } },
        serviceCatalog: [
          { type: 'identity', name: 'keystone', endpoints: [{ region: wanted.region, publicURL: identityUrl, internalURL: identityUrl, adminURL: identityUrl }] },
          { type: 'object-store', name: 'swift', endpoints: regions.map(storeEntry) },
        ],
        user: { id: credentials.username, name: credentials.username, roles: [{ name: 'admin' }] },
      },
    });
  }

  function record(body: unknown, status: number): void {
    requests.push({ version: 2, body, status });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    v2Url: `${url}/v2.0`,
    requests,
    storageRequests,
    handOutRefusedTokens(count: number) {
      refusedToHandOut = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Credentials = { project: string; username: string; password: string } | { problem: string };

function v2Credentials(body: unknown): Credentials {
  const auth = (body as { auth?: { passwordCredentials?: { username?: string; password?: string }; tenantName?: string; tenantId?: string } }).auth;
  const username = auth?.passwordCredentials?.username;
  const password = auth?.passwordCredentials?.password;
  const project = auth?.tenantName ?? auth?.tenantId;
  if (!username || !password) return { problem: 'Expecting to find passwordCredentials in auth' };
  if (!project) return { problem: 'this endpoint hands out tenant-scoped tokens only: give tenantName or tenantId' };
  return { project, username, password };
}

async function tempauthToken(authUrl: string, user: string, key: string): Promise<{ token: string; storageUrl: string } | undefined> {
  const response = await fetch(authUrl, { headers: { 'x-auth-user': user, 'x-auth-key': key } });
  await response.arrayBuffer();
  const token = response.headers.get('x-auth-token');
  const storageUrl = response.headers.get('x-storage-url');
  if (!response.ok || !token || !storageUrl) return undefined;
  return { token, storageUrl };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
