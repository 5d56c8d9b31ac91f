import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { backendScriptExports } from './backend-script';

export interface KeystoneBackend {
  /** Keystone v3, `http://127.0.0.1:PORT/v3`; its catalog's object-store is a Swift proxy that trusts it. */
  authurl: string;
  /** The same Keystone (database, keys, catalog) in a process whose tokens live `shortTokenLifeSeconds`. */
  shortAuthurl: string;
  shortTokenLifeSeconds: number;
  /** Keystone's bootstrap admin: user `admin` in project `admin` of domain `Default`. */
  username: string;
  password: string;
}

/**
 * The Keystone of test/backends/keystone.sh: from the variables the test run exports, or
 * started here (with the Swift it stands in front of) when they are unset, unless
 * BERTH_REQUIRE_BACKENDS=1 says the run was meant to provide it (then the tests fail).
 */
export function keystoneBackend(): KeystoneBackend {
  let values: NodeJS.ProcessEnv = process.env;
  if (!values.BERTH_TEST_KEYSTONE_AUTHURL) {
    if (process.env.BERTH_REQUIRE_BACKENDS === '1') {
      throw new Error('BERTH_TEST_KEYSTONE_AUTHURL is not set: start Keystone with test/backends/keystone.sh start and export what it prints');
    }
    values = backendScriptExports('keystone.sh');
  }
  return {
    authurl: values.BERTH_TEST_KEYSTONE_AUTHURL ?? '',
    shortAuthurl: values.BERTH_TEST_KEYSTONE_SHORT_AUTHURL ?? '',
    shortTokenLifeSeconds: Number(values.BERTH_TEST_KEYSTONE_SHORT_TOKEN_LIFE),
    username: values.BERTH_TEST_KEYSTONE_USERNAME ?? '',
    password: values.BERTH_TEST_KEYSTONE_PASSWORD ?? '',
  };
}

/** A project-scoped token as Keystone handed it out, with the project's Swift storage URL from its catalog. */
export interface KeystoneToken {
  token: string;
  expiresAt: Date;
  userId: string;
  projectId: string;
  /** The public object-store URL of RegionOne: `http://127.0.0.1:PORT/v1/AUTH_<project id>`. */
  storageUrl: string;
}

/** Asks Keystone for a token: `auth` is the body's `auth` member, as a client sends it. */
export async function keystoneToken(authurl: string, auth: unknown): Promise<KeystoneToken> {
  const response = await fetch(`${authurl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth }),
  });
  const body = (await response.json()) as TokenAnswer;
  const token = response.headers.get('x-subject-token');
  if (response.status !== 201 || !token) throw new Error(`Keystone ${authurl} answered ${response.status}: ${JSON.stringify(body)}`);
  const storageUrl = body.token.catalog
    ?.filter((service) => service.type === 'object-store')
    .flatMap((service) => service.endpoints)
    .find((endpoint) => endpoint.interface === 'public' && endpoint.region_id === 'RegionOne')?.url;
  if (!body.token.project || !storageUrl) throw new Error('the token has no project or no object-store endpoint');
  return { token, expiresAt: new Date(body.token.expires_at), userId: body.token.user.id, projectId: body.token.project.id, storageUrl };
}

interface TokenAnswer {
  token: {
    expires_at: string;
    user: { id: string };
    project?: { id: string };
    catalog?: Array<{ type: string; endpoints: Array<{ interface: string; region_id: string; url: string }> }>;
  };
}

/** A user's password login scoped to a project, in the shape Keystone v3 takes. */
export function passwordAuth(user: { name: string; domainId: string }, password: string, projectId: string): unknown {
  return {
    identity: { methods: ['password'], password: { user: { name: user.name, password, domain: { id: user.domainId } } } },
    scope: { project: { id: projectId } },
  };
}

export interface KeystoneEntity {
  id: string;
  name: string;
}

/**
 * Keystone's identity API as its admin, for tests that need users, projects and domains of
 * their own: everything a test makes lives in domains it removes (with their users and
 * projects) when done.
 */
export class KeystoneAdmin {
  private constructor(
    private readonly authurl: string,
    private readonly token: string,
  ) {}

  static async connect(backend: KeystoneBackend): Promise<KeystoneAdmin> {
    const { token } = await keystoneToken(backend.authurl, {
      identity: { methods: ['password'], password: { user: { name: backend.username, password: backend.password, domain: { id: 'default' } } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    });
    return new KeystoneAdmin(backend.authurl, token);
  }

  createDomain(name: string): Promise<KeystoneEntity> {
    return this.create('domain', { name });
  }

  createProject(name: string, domainId: string): Promise<KeystoneEntity> {
    return this.create('project', { name, domain_id: domainId });
  }

  createUser(name: string, password: string, domainId: string): Promise<KeystoneEntity> {
    return this.create('user', { name, password, domain_id: domainId });
  }

  /** Gives `userId` the role named `role` (`member`: what Swift's keystoneauth lets write) on `projectId`. */
  async grantRole(role: string, projectId: string, userId: string): Promise<void> {
    const { roles } = (await this.call('GET', `/roles?name=${encodeURIComponent(role)}`)) as { roles: KeystoneEntity[] };
    if (roles[0] === undefined) throw new Error(`Keystone has no role ${role}`);
    await this.call('PUT', `/projects/${projectId}/users/${userId}/roles/${roles[0].id}`);
  }

  /**
   * Adds region `regionId` with an object-store endpoint at `url` on every interface, and
   * returns what removes them again (the catalog is shared by every token Keystone issues).
   */
  async addObjectStoreRegion(regionId: string, url: string): Promise<() => Promise<void>> {
    const { services } = (await this.call('GET', '/services?type=object-store')) as { services: KeystoneEntity[] };
    if (services[0] === undefined) throw new Error('Keystone has no object-store service');
    await this.call('POST', '/regions', { region: { id: regionId } });
    const endpoints: string[] = [];
    for (const kind of ['public', 'internal', 'admin']) {
      const created = (await this.call('POST', '/endpoints', {
        endpoint: { service_id: services[0].id, interface: kind, region_id: regionId, url },
      })) as { endpoint: KeystoneEntity };
      endpoints.push(created.endpoint.id);
    }
    return async () => {
      for (const id of endpoints) await this.call('DELETE', `/endpoints/${id}`);
      await this.call('DELETE', `/regions/${regionId}`);
    };
  }

  /** Whether Keystone still honours `token` (an expired or revoked one answers 404). */
  async tokenIsValid(token: string): Promise<boolean> {
    const response = await fetch(`${this.authurl}/auth/tokens`, { method: 'HEAD', headers: { 'x-auth-token': this.token, 'x-subject-token': token } });
    if (response.status !== 200 && response.status !== 404) throw new Error(`Keystone answered ${response.status} to a token check`);
    return response.status === 200;
  }

  /** Disables and deletes a domain, and with it every user and project in it. */
  async removeDomain(id: string): Promise<void> {
    await this.call('PATCH', `/domains/${id}`, { domain: { enabled: false } });
    await this.call('DELETE', `/domains/${id}`);
  }

  private async create(kind: string, fields: Record<string, string>): Promise<KeystoneEntity> {
    const created = (await this.call('POST', `/${kind}s`, { [kind]: fields })) as Record<string, KeystoneEntity>;
    return { id: created[kind]!.id, name: created[kind]!.name };
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.authurl}${path}`, {
      method,
      headers: { 'x-auth-token': this.token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Keystone answered ${method} ${path} with ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/** An application credential as Keystone created it: the secret is shown this once. */
export interface ApplicationCredential extends KeystoneEntity {
  secret: string;
}

/** Makes an application credential the way its user does: with a token of the user's, for that token's project. */
export async function createApplicationCredential(authurl: string, user: KeystoneToken, name: string): Promise<ApplicationCredential> {
  const response = await fetch(`${authurl}/users/${user.userId}/application_credentials`, {
    method: 'POST',
    headers: { 'x-auth-token': user.token, 'content-type': 'application/json' },
    body: JSON.stringify({ application_credential: { name } }),
  });
  const body = (await response.json()) as { application_credential: ApplicationCredential };
  if (response.status !== 201) throw new Error(`Keystone answered ${response.status} to an application credential: ${JSON.stringify(body)}`);
  const { id, secret } = body.application_credential;
  return { id, name, secret };
}

/** Deletes an application credential as its user: Keystone refuses it from then on. */
export async function deleteApplicationCredential(authurl: string, user: KeystoneToken, id: string): Promise<void> {
  const response = await fetch(`${authurl}/users/${user.userId}/application_credentials/${id}`, {
    method: 'DELETE',
    headers: { 'x-auth-token': user.token },
  });
  if (response.status !== 204) throw new Error(`Keystone answered ${response.status} to deleting application credential ${id}`);
}

/** One token request that passed through a `TokenRecorder`. */
export interface RecordedTokenRequest {
  body: unknown;
  status: number;
  /** The token handed out (`X-Subject-Token`), when one was. */
  token: string | undefined;
  /** The project the token is scoped to, from Keystone's answer. */
  projectId: string | undefined;
}

export interface TokenRecorder {
  /** Give this to a client in place of the Keystone's own `/v3` URL. */
  readonly authurl: string;
  readonly requests: readonly RecordedTokenRequest[];
  close(): Promise<void>;
}

/**
 * Sits between a client and a real Keystone, forwarding every request unchanged and
 * recording the token requests (`POST …/auth/tokens`): what the client sent, what Keystone
 * answered. It only watches; every answer is Keystone's own.
 */
export async function startTokenRecorder(keystoneAuthurl: string): Promise<TokenRecorder> {
  const target = new URL(keystoneAuthurl);
  const requests: RecordedTokenRequest[] = [];

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !hopByHop.has(entry[0])),
    );
    const response = await fetch(new URL(req.url ?? '/', target.origin), {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const answer = Buffer.from(await response.arrayBuffer());
    if (req.method === 'POST' && /\/auth\/tokens\/?$/.test(new URL(req.url ?? '/', target.origin).pathname)) {
      const parsed = parseJson(answer) as { token?: { project?: { id?: string } } } | undefined;
      requests.push({
        body: parseJson(body),
        status: response.status,
        token: response.headers.get('x-subject-token') ?? undefined,
        projectId: parsed?.token?.project?.id,
      });
    }
    const answerHeaders = Object.fromEntries([...response.headers].filter(([name]) => !hopByHop.has(name) && name !== 'content-encoding'));
    res.writeHead(response.status, { ...answerHeaders, 'content-length': answer.length });
    res.end(answer);
  }

  const server: Server = createServer((req, res) => {
    forward(req, res).catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`token recorder: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    authurl: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
