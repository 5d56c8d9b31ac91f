/**
 * Failed logins, counted per key (`user:<name>`, `addr:<client address>`) over a window, so
 * that guessing passwords is slowed and then refused (429 TOOMANYREQUESTS) past a limit
 * (`berth.auth.failedlogins`). In process memory all in one process, in Redis when several
 * gateways share the work: an attacker spreading guesses over them is counted once.
 *
 * A throttle that cannot answer (Redis away) lets the attempt through rather than lock
 * everyone out: it is a brake, the password check is the lock.
 */
export interface LoginThrottle {
  /** How many milliseconds the most blocked of `keys` is still refused for; 0 when none is. */
  blockedFor(keys: readonly string[]): Promise<number>;
  /** Counts one failure against each key; resolves with the highest count among them in the window. */
  failed(keys: readonly string[]): Promise<number>;
  /** Forgets the failures of `keys` (a user who then logged in). */
  succeeded(keys: readonly string[]): Promise<void>;
}

export const LOGIN_THROTTLE = Symbol('LOGIN_THROTTLE');

/** `berth.auth.failedlogins`, as the throttles take it. */
export interface LoginThrottleLimits {
  /** Failures within `windowMs` after which a key is refused until the window ends. */
  readonly limit: number;
  readonly windowMs: number;
}
