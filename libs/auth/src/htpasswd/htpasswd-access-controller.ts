import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hashSync, verify } from '@node-rs/bcrypt';
import { Logger } from '@nestjs/common';
import type { AccessRecord } from '../access';
import { type AccessController, type AuthRequest, challengeError, type Grant, quoted } from '../access-controller';
import { type FailedLogins, loginKeys } from '../failed-logins';
import { HtpasswdFileError, readHtpasswd } from './htpasswd-file';

/** How often the file is looked at for a change: at most once a second, not on every request as the reference. */
const RECHECK_MS = 1_000;

/** The most users whose verified password is remembered at once. */
const REMEMBERED_USERS = 10_000;

/**
 * `auth.htpasswd` (registry/auth/htpasswd): HTTP Basic against a file of bcrypt hashes,
 * re-read when it changes (no restart, as the reference, whose docs say otherwise).
 *
 * The reference runs bcrypt on every request, ~70 ms of CPU at cost 10. berth runs it once
 * per user and password: what verified is remembered as an HMAC of the password under a key
 * drawn at start-up (the password itself is never kept), per user, bounded, and forgotten
 * whenever the file changes; a later request is compared to it in constant time. An unknown
 * user costs a bcrypt run too, against a dummy hash (as 3.1), so timing tells no valid names.
 */
export class HtpasswdAccessController implements AccessController {
  private readonly logger = new Logger('auth');
  private readonly challenge: string;
  private readonly macKey = randomBytes(32);
  private readonly dummyHash = hashSync('', 10);
  private readonly verified = new Map<string, Buffer>();
  private entries: Map<string, string>;
  private fileVersion: string;
  /** Bumped on every reload: a check begun before it must not be remembered after. */
  private generation = 0;
  private checkedAt = 0;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly options: { realm: string; path: string },
    private readonly failedLogins: FailedLogins,
  ) {
    this.challenge = `Basic realm=${quoted(options.realm)}`;
    // Read now, so that a missing or broken file stops serve with its error.
    this.fileVersion = versionOf(() => statSync(options.path, { bigint: true }));
    this.entries = readHtpasswd(options.path);
  }

  async authorize(request: AuthRequest, access: readonly AccessRecord[]): Promise<Grant> {
    await this.recheck();
    const credentials = basicCredentials(request.authorization);
    if (credentials === undefined) throw challengeError(this.challenge, access);
    const { user, password } = credentials;
    const mac = createHmac('sha256', this.macKey).update(password).digest();
    const remembered = this.verified.get(user);
    if (remembered !== undefined && timingSafeEqual(remembered, mac)) return { user };

    const keys = loginKeys(request.clientAddress, user);
    await this.failedLogins.refuseIfBlocked(keys);
    const generation = this.generation;
    const hash = this.entries.get(user);
    const matches = await verify(password, hash ?? this.dummyHash).catch(() => false);
    if (!matches || hash === undefined) {
      await this.failedLogins.failed(keys);
      throw challengeError(this.challenge, access);
    }
    if (generation === this.generation) this.remember(user, mac);
    await this.failedLogins.succeeded([`user:${user}`]);
    return { user };
  }

  private remember(user: string, mac: Buffer): void {
    this.verified.delete(user);
    if (this.verified.size >= REMEMBERED_USERS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(user, mac);
  }

  /** Reloads the file when its size, time or inode changed, looking at most once per RECHECK_MS. */
  private recheck(): Promise<void> {
    if (this.checking !== undefined) return this.checking;
    if (Date.now() - this.checkedAt < RECHECK_MS) return Promise.resolve();
    this.checking = this.reloadIfChanged().finally(() => {
      this.checkedAt = Date.now();
      this.checking = undefined;
    });
    return this.checking;
  }

  private async reloadIfChanged(): Promise<void> {
    const info = await stat(this.options.path, { bigint: true }).catch((error: NodeJS.ErrnoException) => error);
    const version = versionOf(() => {
      if (info instanceof Error) throw info;
      return info;
    });
    if (version === this.fileVersion) return;
    this.fileVersion = version;
    this.generation += 1;
    this.verified.clear();
    try {
      this.entries = readHtpasswd(this.options.path);
      this.logger.log(`auth.htpasswd: ${this.options.path} changed, ${this.entries.size} user(s) loaded`);
    } catch (error) {
      if (!(error instanceof HtpasswdFileError)) throw error;
      // No user rather than the old ones: a file removed or emptied to lock everyone out does so.
      this.entries = new Map();
      this.logger.error(`auth.htpasswd: ${error.message}; every login is refused until the file is fixed`);
    }
  }
}

/** `Basic base64(user:password)`, the scheme's name in any case (Go's BasicAuth); undefined for anything else. */
export function basicCredentials(authorization: string | undefined): { user: string; password: string } | undefined {
  if (authorization === undefined || authorization.length < 6 || authorization.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** What tells one state of the file from another: inode (replaced by a rename), size, times; or why it cannot be seen. */
function versionOf(look: () => import('node:fs').BigIntStats): string {
  try {
    const info = look();
    return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch (error) {
    return `gone:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}
