import { StorageDriverError } from '../../errors';
import type { DriverParams } from '../../params';
import type { SwiftHttp } from './swift.http';

export type AuthVersion = 1 | 2 | 3;

/** What an authentication yields: where the account lives and the token that opens it. */
export interface SwiftSession {
  storageUrl: string;
  token: string;
  /** Epoch ms after which the token is no longer honoured; undefined when the server did not say. */
  expiresAt: number | undefined;
  /** The Keystone project (tenant) id, which HP Cloud's TempURL signatures carry. */
  tenantId: string | undefined;
}

type AuthParams = Pick<
  DriverParams<'swift'>,
  | 'authurl'
  | 'username'
  | 'password'
  | 'region'
  | 'tenant'
  | 'tenantid'
  | 'domain'
  | 'domainid'
  | 'tenantdomain'
  | 'tenantdomainid'
  | 'trustid'
  | 'authversion'
  | 'endpointtype'
  | 'applicationcredentialid'
  | 'applicationcredentialname'
  | 'applicationcredentialsecret'
>;

/** A Swift or Keystone answer the driver cannot use; the message says what to fix. */
export class SwiftAuthError extends StorageDriverError {
  constructor(message: string, cause?: unknown) {
    super(`authentication failed: ${message}`, 'swift', cause);
  }
}

/**
 * The auth version from `authversion`, else from the URL's path as the reference's client
 * (ncw/swift) reads it: `/v3…` Keystone v3, `/v2…` Keystone v2.0, `/v1…` tempauth/swauth.
 * Only the path is read, so a host named `v3-cloud.example` cannot mislead it.
 */
export function detectAuthVersion(authUrl: string, configured?: number): AuthVersion {
  if (configured === 1 || configured === 2 || configured === 3) return configured;
  const path = new URL(authUrl).pathname;
  const match = /\/v([123])(?:\.\d+)?(?:\/|$)/.exec(path);
  if (match) return Number(match[1]) as AuthVersion;
  throw new SwiftAuthError(
    `cannot tell the auth version from ${JSON.stringify(path)} in storage.swift.authurl: set storage.swift.authversion to 1, 2 or 3`,
  );
}

/**
 * Keeps one token for the driver: authenticates on first use, again shortly before the
 * token expires, and again when Swift refuses it (`invalidate`). Concurrent callers share
 * one authentication request.
 */
export class SwiftAuth {
  readonly version: AuthVersion;
  private current: Promise<SwiftSession> | undefined;
  private refreshAt = 0;

  constructor(
    private readonly params: AuthParams,
    private readonly http: SwiftHttp,
    private readonly now: () => number = Date.now,
  ) {
    this.version = detectAuthVersion(params.authurl, params.authversion);
    if (params.applicationcredentialsecret !== undefined && this.version !== 3) {
      throw new SwiftAuthError(`application credentials exist in Keystone v3 only, and storage.swift.authurl is auth v${this.version}: use the /v3 URL`);
    }
  }

  session(): Promise<SwiftSession> {
    if (this.current === undefined || this.now() >= this.refreshAt) {
      // Callers meanwhile share this authentication rather than each starting one.
      this.refreshAt = Infinity;
      const pending = this.authenticate().then((session) => {
        const lifetime = session.expiresAt === undefined ? Infinity : session.expiresAt - this.now();
        // Renew a minute early, or a tenth of the lifetime early for short-lived tokens.
        this.refreshAt = lifetime === Infinity ? Infinity : this.now() + lifetime - Math.min(60_000, lifetime / 10);
        return session;
      });
      // A failed authentication is not cached: the next call tries again.
      pending.catch(() => {
        if (this.current === pending) this.current = undefined;
      });
      this.current = pending;
    }
    return this.current;
  }

  /**
   * A session whose token stays valid for at least `marginMs` more, for a request whose body
   * cannot be sent twice: a token about to expire is waited out, since tempauth hands out
   * the same token until it has. Gives up waiting after a few rounds (a cluster whose tokens
   * live shorter than the margin) and returns the newest.
   */
  async lastingSession(marginMs: number): Promise<SwiftSession> {
    let session = await this.session();
    for (let round = 0; round < 5; round++) {
      const left = session.expiresAt === undefined ? Infinity : session.expiresAt - this.now();
      if (left >= marginMs) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(left, 250), marginMs)));
      this.invalidate(session.token);
      session = await this.session();
    }
    return session;
  }

  /** Swift answered 401 to `token`: forget it unless a newer one has replaced it already. */
  invalidate(token: string): void {
    const current = this.current;
    if (current === undefined) return;
    void current.then(
      (session) => {
        if (session.token === token && this.current === current) this.current = undefined;
      },
      () => undefined,
    );
    // Callers retry at once: make the next session() call re-authenticate even before the check above runs.
    this.refreshAt = 0;
  }

  private authenticate(): Promise<SwiftSession> {
    switch (this.version) {
      case 1:
        return this.authV1();
      case 2:
        return this.authV2();
      case 3:
        return this.authV3();
    }
  }

  /** tempauth / swauth: credentials in headers, the storage URL and token in the answer's headers. */
  private async authV1(): Promise<SwiftSession> {
    // Both are set: the parameters require them unless an application credential (v3 only) is given.
    const { username = '', password = '' } = this.params;
    const response = await this.http.send({
      method: 'GET',
      url: this.params.authurl,
      headers: { 'x-auth-user': username, 'x-auth-key': password },
      idempotent: true,
    });
    await response.body.dump();
    if (response.status < 200 || response.status >= 300) throw this.refused(response.status);
    const storageUrl = response.headers['x-storage-url'];
    const token = response.headers['x-auth-token'] ?? response.headers['x-storage-token'];
    if (!storageUrl || !token) throw new SwiftAuthError(`${this.params.authurl} answered without X-Storage-Url or X-Auth-Token`);
    const expiresIn = Number(response.headers['x-auth-token-expires']);
    return {
      storageUrl,
      token,
      // Whole seconds, rounded down: "0" is a token in its last second.
      expiresAt: Number.isFinite(expiresIn) && expiresIn >= 0 ? this.now() + expiresIn * 1000 : undefined,
      tenantId: undefined,
    };
  }

  /** Keystone v2.0: POST /tokens with a tenant, as in the seed configuration. */
  private async authV2(): Promise<SwiftSession> {
    const { username, password, tenant, tenantid } = this.params;
    const auth: Record<string, unknown> = { passwordCredentials: { username, password } };
    if (tenantid !== undefined) auth.tenantId = tenantid;
    else if (tenant !== undefined) auth.tenantName = tenant;
    const body = (await this.postJson(joinUrl(this.params.authurl, 'tokens'), { auth })).json as V2Answer;
    const token = body.access?.token;
    if (!token?.id) throw new SwiftAuthError('Keystone v2.0 answered without access.token.id');
    const interfaceKey = `${this.params.endpointtype ?? 'public'}URL` as const;
    const endpoints = (body.access?.serviceCatalog ?? []).filter((service) => service.type === 'object-store').flatMap((s) => s.endpoints ?? []);
    const endpoint = endpoints.find((candidate) => this.regionMatches(candidate.region) && candidate[interfaceKey]);
    const storageUrl = endpoint?.[interfaceKey];
    if (!storageUrl) throw this.noEndpoint();
    return { storageUrl, token: token.id, expiresAt: parseTime(token.expires), tenantId: token.tenant?.id };
  }

  /**
   * Keystone v3: POST /auth/tokens, a user in a domain scoped to a project or a trust, or an
   * application credential (Keystone scopes it to the project it was made in).
   */
  private async authV3(): Promise<SwiftSession> {
    const p = this.params;
    // Keystone names a user only within a domain; "default" is the id of Keystone's default one.
    const userDomain = p.domainid !== undefined ? { id: p.domainid } : p.domain !== undefined ? { name: p.domain } : { id: 'default' };
    const projectDomain =
      p.tenantdomainid !== undefined ? { id: p.tenantdomainid } : p.tenantdomain !== undefined ? { name: p.tenantdomain } : userDomain;
    let identity: Record<string, unknown>;
    if (p.applicationcredentialsecret !== undefined) {
      const credential =
        p.applicationcredentialid !== undefined
          ? { id: p.applicationcredentialid }
          : { name: p.applicationcredentialname, user: { name: p.username, domain: userDomain } };
      identity = { methods: ['application_credential'], application_credential: { ...credential, secret: p.applicationcredentialsecret } };
    } else {
      identity = { methods: ['password'], password: { user: { name: p.username, password: p.password, domain: userDomain } } };
    }
    let scope: Record<string, unknown> | undefined;
    if (p.trustid !== undefined) scope = { 'OS-TRUST:trust': { id: p.trustid } };
    else if (p.tenantid !== undefined) scope = { project: { id: p.tenantid } };
    else if (p.tenant !== undefined) scope = { project: { name: p.tenant, domain: projectDomain } };
    const auth = { identity, ...(scope === undefined ? {} : { scope }) };
    const url = /\/auth\/tokens\/?$/.test(new URL(p.authurl).pathname) ? p.authurl : joinUrl(p.authurl, 'auth/tokens');
    const { json, headers } = await this.postJson(url, { auth });
    const token = headers['x-subject-token'];
    const body = json as V3Answer;
    if (!token) throw new SwiftAuthError('Keystone v3 answered without X-Subject-Token');
    const wanted = p.endpointtype ?? 'public';
    const endpoints = (body.token?.catalog ?? []).filter((service) => service.type === 'object-store').flatMap((s) => s.endpoints ?? []);
    const endpoint = endpoints.find(
      (candidate) => candidate.interface === wanted && (this.regionMatches(candidate.region_id) || this.regionMatches(candidate.region)),
    );
    if (!endpoint?.url) throw this.noEndpoint();
    return { storageUrl: endpoint.url, token, expiresAt: parseTime(body.token?.expires_at), tenantId: body.token?.project?.id };
  }

  private async postJson(url: string, payload: unknown): Promise<{ json: unknown; headers: Record<string, string> }> {
    const response = await this.http.send({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      // Asking for a token twice is harmless.
      idempotent: true,
    });
    const text = await response.body.text();
    if (response.status < 200 || response.status >= 300) throw this.refused(response.status, text);
    try {
      return { json: JSON.parse(text), headers: response.headers };
    } catch (error) {
      throw new SwiftAuthError(`${url} answered ${response.status} with a body that is not JSON`, error);
    }
  }

  private regionMatches(region: string | undefined): boolean {
    return this.params.region === undefined || region === this.params.region;
  }

  private refused(status: number, body = ''): SwiftAuthError {
    const credential = this.params.applicationcredentialsecret !== undefined;
    const keys = credential
      ? 'applicationcredentialid (or applicationcredentialname and username) and applicationcredentialsecret'
      : 'username, password and tenant/domain';
    // Keystone answers an unknown (or deleted) application credential with 404.
    const hint = status === 401 || status === 403 || (credential && status === 404) ? `: check storage.swift.${keys}` : '';
    const said = keystoneMessage(body);
    return new SwiftAuthError(`${this.params.authurl} (auth v${this.version}) answered ${status}${hint}${said ? ` (Keystone: ${said})` : ''}`);
  }

  private noEndpoint(): SwiftAuthError {
    const region = this.params.region === undefined ? '' : ` in region ${JSON.stringify(this.params.region)}`;
    return new SwiftAuthError(
      `the service catalog has no ${this.params.endpointtype ?? 'public'} object-store endpoint${region} (storage.swift.region, endpointtype)`,
    );
  }
}

interface V2Answer {
  access?: {
    token?: { id?: string; expires?: string; tenant?: { id?: string } };
    serviceCatalog?: Array<{
      type?: string;
      endpoints?: Array<{ region?: string; publicURL?: string; internalURL?: string; adminURL?: string }>;
    }>;
  };
}

interface V3Answer {
  token?: {
    expires_at?: string;
    project?: { id?: string };
    catalog?: Array<{ type?: string; endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }> }>;
  };
}

/** Keystone's own reason in an error answer (`{"error": {"message": …}}`), if it gave one. */
function keystoneMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? time : undefined;
}
