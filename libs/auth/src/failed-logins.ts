import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginThrottle } from '@berth/contracts';
import { OciError } from '@berth/oci';

/** The first failure's delay; each further one in the window doubles it, up to `maxDelayMs`. */
const FIRST_DELAY_MS = 100;

/**
 * Failed logins slowed, then refused: each failure is answered a little later than the last
 * (doubling up to `berth.auth.failedlogins.delay`), and once a user or an address has failed
 * `limit` times in the window, its attempts are answered 429 TOOMANYREQUESTS without a check
 * until the window ends. Keys are `user:<name>` and `addr:<address>`.
 */
export class FailedLogins {
  constructor(
    private readonly throttle: LoginThrottle,
    private readonly maxDelayMs: number,
  ) {}

  /** Rejects with 429 (and `Retry-After`) while any of `keys` is blocked. */
  async refuseIfBlocked(keys: readonly string[]): Promise<void> {
    const blockedMs = await this.throttle.blockedFor(keys);
    if (blockedMs > 0) {
      throw new OciError('TOOMANYREQUESTS', 'too many failed logins; try again later', { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
    }
  }

  /** Counts the failure, then waits before the caller answers it. */
  async failed(keys: readonly string[]): Promise<void> {
    const count = await this.throttle.failed(keys);
    const delay = Math.min(this.maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(Math.max(count - 1, 0), 16));
    if (delay > 0) await sleep(delay);
  }

  async succeeded(keys: readonly string[]): Promise<void> {
    await this.throttle.succeeded(keys);
  }
}

/** Keys of a login attempt: the user, when one was named, and the client's address. */
export function loginKeys(clientAddress: string, user?: string): string[] {
  return user === undefined ? [`addr:${clientAddress}`] : [`user:${user}`, `addr:${clientAddress}`];
}
