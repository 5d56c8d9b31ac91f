import type { BerthConfig } from '@berth/config';
import type { LoginThrottle } from '@berth/contracts';
import type { AccessController } from './access-controller';
import { FailedLogins } from './failed-logins';
import { HtpasswdAccessController } from './htpasswd/htpasswd-access-controller';
import { HtpasswdFileError } from './htpasswd/htpasswd-file';
import { SillyAccessController } from './silly/silly-access-controller';
import { TokenAccessController } from './token/token-access-controller';
import { DEFAULT_SIGNING_ALGORITHMS, KNOWN_SIGNING_ALGORITHMS, TokenVerifier } from './token/token-verifier';
import { TrustedKeys, TrustedKeysError } from './token/trusted-keys';

/** Why the `auth` section cannot be served: the key and the words `config check` and `serve` both say. */
export class AuthSetupError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'AuthSetupError';
  }
}

/**
 * The access controller `auth` asks for, its files read and checked now; `undefined` when
 * the registry is open (no `auth`, or `auth: none`). Throws `AuthSetupError` for whatever
 * the section's files make unservable (a missing htpasswd file, a non-bcrypt entry, a bundle
 * without a certificate, an algorithm berth cannot verify).
 */
export function accessControllerOf(config: BerthConfig, throttle: LoginThrottle): AccessController | undefined {
  const auth = config.auth ?? {};
  const failedLogins = new FailedLogins(throttle, config.berth.failedlogins.delay);
  if (auth.htpasswd !== undefined) {
    try {
      return new HtpasswdAccessController(auth.htpasswd, failedLogins);
    } catch (error) {
      if (error instanceof HtpasswdFileError) throw new AuthSetupError('auth.htpasswd.path', error.message);
      throw error;
    }
  }
  if (auth.token !== undefined) {
    const token = auth.token;
    const algorithms = token.signingalgorithms ?? [...DEFAULT_SIGNING_ALGORITHMS];
    const unknown = algorithms.filter((alg) => !(KNOWN_SIGNING_ALGORITHMS as readonly string[]).includes(alg));
    if (unknown.length > 0) {
      throw new AuthSetupError(
        'auth.token.signingalgorithms',
        `${unknown.join(', ')} cannot be verified: use some of ${KNOWN_SIGNING_ALGORITHMS.join(', ')} (no HMAC: berth holds no shared secret)`,
      );
    }
    let keys: TrustedKeys;
    try {
      keys = TrustedKeys.load(token.rootcertbundle, token.jwks);
    } catch (error) {
      if (error instanceof TrustedKeysError) throw new AuthSetupError(`auth.token.${error.key}`, error.message);
      throw error;
    }
    const verifier = new TokenVerifier({ issuer: token.issuer, service: token.service, algorithms, keys });
    return new TokenAccessController(token, verifier);
  }
  if (auth.silly !== undefined) return new SillyAccessController(auth.silly);
  return undefined;
}

/** A throttle that counts nothing: for checking a configuration, where no login happens. */
export const NO_LOGIN_THROTTLE: LoginThrottle = {
  blockedFor: async () => 0,
  failed: async () => 0,
  succeeded: async () => {},
};
