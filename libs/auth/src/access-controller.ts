import { OciError } from '@berth/oci';
import { type AccessRecord, accessDetail } from './access';

/** What an access controller reads of a request: never its body. */
export interface AuthRequest {
  /** The `Authorization` header, as sent. */
  readonly authorization: string | undefined;
  /** The client's address, for counting failed logins per address. */
  readonly clientAddress: string;
  /** `Host` and `X-Forwarded-Proto`, for `auth.token.autoredirect`. */
  readonly host: string | undefined;
  readonly forwardedProto: string | undefined;
}

/** Who the caller is, once allowed; `undefined` user for an anonymous grant. */
export interface Grant {
  readonly user: string | undefined;
}

/**
 * One of the reference's `auth` schemes (registry/auth/auth.go AccessController): decides
 * whether a request may have `access`, resolving with the caller, or rejecting with the
 * `OciError` to answer (401 with a challenge, 403 DENIED, 429 TOOMANYREQUESTS).
 */
export interface AccessController {
  authorize(request: AuthRequest, access: readonly AccessRecord[]): Promise<Grant>;
}

/** 401 UNAUTHORIZED with `challenge` in `WWW-Authenticate`, the body's detail the access asked for (the reference's app.go). */
export function challengeError(challenge: string, access: readonly AccessRecord[]): OciError {
  return new OciError('UNAUTHORIZED', accessDetail(access), { 'WWW-Authenticate': challenge });
}

/** A header parameter's value, quoted as Go's `%q` does for the plain text realms and services are. */
export function quoted(value: string): string {
  return JSON.stringify(value);
}
