import { Logger } from '@nestjs/common';
import { OciError } from '@berth/oci';
import { type AccessRecord, accessDetail, scopeOf } from '../access';
import { type AccessController, type AuthRequest, challengeError, type Grant, quoted } from '../access-controller';
import { grants, InvalidTokenError, type TokenVerifier } from './token-verifier';

export interface TokenAccessOptions {
  readonly realm: string;
  readonly service: string;
  /** Realm `<scheme>://<Host><autoredirectpath>`: the token service behind the registry's own address. */
  readonly autoredirect: boolean;
  readonly autoredirectpath?: string;
}

/**
 * `auth.token` (registry/auth/token/accesscontroller.go), the Docker token protocol: without a
 * Bearer token, 401 with `Bearer realm,service,scope` naming exactly what the request needs;
 * with a token that cannot be believed, the same plus `error="invalid_token"`; with a good token lacking an action, 403 DENIED and
 * `error="insufficient_scope"` (the reference answers that one 401; RFC 6750 §3.1 and the
 * issue ask 403, which clients report as "denied", not as a login to retry).
 *
 * Refused tokens are not counted as failed logins: a signature cannot be guessed, and an
 * expired token that a client behind a shared address keeps sending must not lock out its
 * neighbours. The passwords a token service takes are what `berth.failedlogins` guards.
 */
export class TokenAccessController implements AccessController {
  private readonly logger = new Logger('auth');

  constructor(
    private readonly options: TokenAccessOptions,
    private readonly verifier: TokenVerifier,
  ) {}

  async authorize(request: AuthRequest, access: readonly AccessRecord[]): Promise<Grant> {
    const token = bearerToken(request.authorization);
    if (token === undefined) throw challengeError(this.challenge(request, access), access);
    let claims;
    try {
      claims = await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // Why, for the operator; the token itself never.
      this.logger.warn(`refused a token from ${request.clientAddress}: ${error.message}`);
      throw challengeError(this.challenge(request, access, 'invalid_token'), access);
    }
    const missing = access.filter((record) => !grants(claims, record.type, record.name, record.action));
    if (missing.length > 0) {
      throw new OciError('DENIED', accessDetail(missing), { 'WWW-Authenticate': this.challenge(request, access, 'insufficient_scope') });
    }
    return { user: claims.subject };
  }

  private challenge(request: AuthRequest, access: readonly AccessRecord[], error?: string): string {
    let challenge = `Bearer realm=${quoted(this.realm(request))},service=${quoted(this.options.service)}`;
    if (access.length > 0) challenge += `,scope=${quoted(scopeOf(access))}`;
    if (error !== undefined) challenge += `,error=${quoted(error)}`;
    return challenge;
  }

  private realm(request: AuthRequest): string {
    if (!this.options.autoredirect || request.host === undefined) return this.options.realm;
    // https unless a proxy in front says otherwise (3.x; 2.8 always says https).
    const scheme = request.forwardedProto === 'http' ? 'http' : 'https';
    return `${scheme}://${request.host}${this.options.autoredirectpath ?? '/auth/token'}`;
  }
}

/** `Bearer <token>`, exactly two parts (2.8's Split), the scheme in any case; undefined for anything else. */
function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const parts = authorization.split(' ');
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || parts[1] === '') return undefined;
  return parts[1];
}
