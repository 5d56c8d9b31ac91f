import { randomBytes } from 'node:crypto';
import type { BerthConfig } from '@berth/config';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { LoginThrottle } from '@berth/contracts';
import { AuthSetupError } from '../access-controller-of';
import { FailedLogins } from '../failed-logins';
import { basicCredentials, HtpasswdAccessController } from '../htpasswd/htpasswd-access-controller';
import { HtpasswdFileError, readHtpasswd } from '../htpasswd/htpasswd-file';
import { parseScopes, RepositoryRules, type ScopeEntry } from './repository-rules';
import { loadSigningKeys, type SigningKey, SigningKeyError } from './signing-keys';

/** What the token endpoint answers (docs/spec/auth/token.md, oauth.md): both token names, as clients read one or the other. */
export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  scope: string;
  refresh_token?: string;
}

/** A token request refused as OAuth2 says (`{"error": …}` with 400), not a login failure. */
export class TokenRequestError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'unsupported_grant_type' | 'invalid_grant',
    readonly description: string,
  ) {
    super(description);
    this.name = 'TokenRequestError';
  }
}

/** Clock skew the reference allows is 60 s; tokens start 10 s in the past so a slow clock there still takes them. */
const NOT_BEFORE_SKEW_S = 10;

/**
 * berth's token server (`berth.tokenservice`): logs users in against an htpasswd file (the
 * same reader and remembered-password cache as `auth.htpasswd`, failed logins counted alike)
 * and issues registry tokens in the format the reference verifies: a JWS with `x5c` (the signing
 * certificate: 2.8 and 3.x both try it first) and libtrust's `kid`, claims `iss`, `sub`, `aud`
 * (a string, as 2.8 requires), integer `exp`/`nbf`/`iat`, `jti` and `access`.
 */
export class TokenService {
  private readonly logins: HtpasswdAccessController;
  private readonly rules: RepositoryRules;
  readonly keys: readonly SigningKey[];
  readonly issuer: string;
  readonly service: string;
  private readonly expirationS: number;
  private readonly refreshExpirationS: number;
  private readonly htpasswd: string;

  constructor(config: NonNullable<BerthConfig['berth']['tokenservice']>, failedLogins: FailedLogins) {
    // The schema has made sure these are set when the service is enabled.
    this.issuer = config.issuer!;
    this.service = config.service!;
    this.htpasswd = config.htpasswd!;
    this.keys = loadSigningKeys(config.signingkeys);
    this.logins = new HtpasswdAccessController({ realm: config.realm, path: this.htpasswd }, failedLogins);
    this.rules = new RepositoryRules({ rules: config.rules, admins: config.admins, anonymousPull: config.anonymouspull });
    this.expirationS = Math.max(60, Math.floor(config.expiration / 1000));
    this.refreshExpirationS = Math.floor(config.refreshexpiration / 1000);
  }

  /**
   * The user of a Basic `Authorization` (undefined without one: anonymous); rejects with 401 and
   * a Basic challenge for a wrong password or an unknown user, 429 past the failed-login limit.
   */
  async authenticate(authorization: string | undefined, clientAddress: string): Promise<string | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
    if (basicCredentials(authorization) === undefined) throw new TokenRequestError('invalid_request', 'only Basic credentials are taken here');
    const grant = await this.logins.authorize({ authorization, clientAddress, host: undefined, forwardedProto: undefined }, []);
    return grant.user;
  }

  /** The OAuth2 password grant's check: the same as Basic. */
  authenticatePassword(user: string, password: string, clientAddress: string): Promise<string | undefined> {
    return this.authenticate(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, clientAddress);
  }

  /** A token for `user` (undefined: anonymous) granting what the rules allow of `scopes`; a refresh token too when `offline`. */
  async issue(user: string | undefined, service: string | undefined, scopes: readonly string[], offline: boolean): Promise<TokenResponse> {
    this.checkService(service);
    const granted = this.rules.grant(user, parseScopes(scopes));
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: this.issuer,
      sub: user ?? '',
      aud: this.service,
      exp: now + this.expirationS,
      nbf: now - NOT_BEFORE_SKEW_S,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      access: granted,
    };
    const token = await this.sign(claims);
    const response: TokenResponse = {
      token,
      access_token: token,
      expires_in: this.expirationS,
      issued_at: new Date(now * 1000).toISOString(),
      scope: granted.map(scopeText).join(' '),
    };
    if (offline && user !== undefined) response.refresh_token = await this.refreshTokenFor(user);
    return response;
  }

  /** The user a refresh token was issued to, if it verifies under a listed key, is unexpired, and the user is still in the file. */
  async refreshUser(refreshToken: string): Promise<string> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(refreshToken);
    } catch {
      throw new TokenRequestError('invalid_grant', 'the refresh token is malformed');
    }
    const key = this.keys.find((candidate) => candidate.kid === header.kid);
    if (key === undefined) throw new TokenRequestError('invalid_grant', 'the refresh token was signed by a key no longer listed');
    let payload: Record<string, unknown>;
    try {
      const verified = await compactVerify(refreshToken, key.publicKey, { algorithms: [key.alg] });
      payload = JSON.parse(Buffer.from(verified.payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new TokenRequestError('invalid_grant', 'the refresh token does not verify');
    }
    const now = Math.floor(Date.now() / 1000);
    if (payload.iss !== this.issuer || payload.aud !== this.refreshAudience() || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
      throw new TokenRequestError('invalid_grant', 'the token is not a refresh token of this service');
    }
    if (payload.exp < now) throw new TokenRequestError('invalid_grant', 'the refresh token has expired');
    // A user removed from the file loses the tokens they hold (within one access token's life).
    if (!readHtpasswd(this.htpasswd).has(payload.sub)) throw new TokenRequestError('invalid_grant', 'the user of the refresh token is no longer known');
    return payload.sub;
  }

  private checkService(service: string | undefined): void {
    if (service !== undefined && service !== '' && service !== this.service) {
      throw new TokenRequestError('invalid_request', `this token service issues tokens for ${JSON.stringify(this.service)} only`);
    }
  }

  private async refreshTokenFor(user: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    // Its audience is no registry's service: a refresh token is never taken as an access token.
    return this.sign({ iss: this.issuer, sub: user, aud: this.refreshAudience(), exp: now + this.refreshExpirationS, iat: now, jti: randomBytes(16).toString('base64url') });
  }

  private refreshAudience(): string {
    return `${this.service} refresh token`;
  }

  private sign(claims: Record<string, unknown>): Promise<string> {
    const key = this.keys[0]!;
    return new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ typ: 'JWT', alg: key.alg, kid: key.kid, x5c: [key.x5c] })
      .sign(key.privateKey);
  }
}

function scopeText(entry: ScopeEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}


/**
 * The token service `berth.tokenservice` asks for, its files read and checked now; undefined
 * when it is off. Throws AuthSetupError naming the key, for serve and config check alike.
 */
export function tokenServiceOf(config: BerthConfig, throttle: LoginThrottle): TokenService | undefined {
  const settings = config.berth.tokenservice;
  if (!settings.enabled) return undefined;
  try {
    return new TokenService(settings, new FailedLogins(throttle, config.berth.failedlogins.delay));
  } catch (error) {
    if (error instanceof SigningKeyError) throw new AuthSetupError(error.key, error.message);
    if (error instanceof HtpasswdFileError) throw new AuthSetupError('berth.tokenservice.htpasswd', error.message);
    throw error;
  }
}
