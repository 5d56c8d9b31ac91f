export { type AccessRecord, accessDetail, type AccessTarget, requiredAccess, scopeOf } from './access';
export { type AccessController, type AuthRequest, challengeError, type Grant } from './access-controller';
export { accessControllerOf, AuthSetupError, NO_LOGIN_THROTTLE } from './access-controller-of';
export { FailedLogins, loginKeys } from './failed-logins';
export { authenticatedUser, setAuthenticatedUser } from './authenticated-user';
export { basicCredentials, HtpasswdAccessController } from './htpasswd/htpasswd-access-controller';
export { HtpasswdFileError, parseHtpasswd, readHtpasswd } from './htpasswd/htpasswd-file';
export { SillyAccessController } from './silly/silly-access-controller';
export { jwkThumbprint, libtrustKeyId } from './token/key-ids';
export { TokenAccessController, type TokenAccessOptions } from './token/token-access-controller';
export {
  DEFAULT_SIGNING_ALGORITHMS,
  grants,
  InvalidTokenError,
  KNOWN_SIGNING_ALGORITHMS,
  type TokenAccess,
  type TokenClaims,
  TokenVerifier,
  type TokenVerifierOptions,
} from './token/token-verifier';
export { TrustedKeys, TrustedKeysError } from './token/trusted-keys';
export { globToRegExp, parseScopes, type RepositoryRule, RepositoryRules, type ScopeEntry } from './token-service/repository-rules';
export { loadSigningKeys, type SigningKey, SigningKeyError } from './token-service/signing-keys';
export { TokenRequestError, type TokenResponse, TokenService, tokenServiceOf } from './token-service/token-service';
