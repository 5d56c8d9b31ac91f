import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigFromString } from '@berth/config';
import { createTempDir, htpasswdLine, makeTestCertificate, type TempDir, type TestCertificate } from '@berth/testing';
import { dump } from 'js-yaml';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthSetupError, NO_LOGIN_THROTTLE } from '../access-controller-of';
import { TokenVerifier } from '../token/token-verifier';
import { TrustedKeys } from '../token/trusted-keys';
import { globToRegExp, parseScopes, RepositoryRules } from './repository-rules';
import { TokenRequestError, type TokenService, tokenServiceOf } from './token-service';

let work: TempDir;
let rsa: TestCertificate;
let ec: TestCertificate;
let htpasswd: string;
let bundle: string;

beforeAll(async () => {
  work = await createTempDir('berth-token-service-');
  const ca = makeTestCertificate(work.path, 'token-ca', { ca: true });
  rsa = makeTestCertificate(work.path, 'signer-rsa', { issuer: ca });
  ec = makeTestCertificate(work.path, 'signer-ec', { issuer: ca, keyType: 'ec256' });
  htpasswd = join(work.path, 'htpasswd');
  await writeFile(htpasswd, [htpasswdLine('alice', 'alice-pw', 4), htpasswdLine('bob', 'bob-pw', 4), htpasswdLine('root', 'root-pw', 4)].join('\n'));
  bundle = ca.certPath;
});

afterAll(async () => {
  await work?.remove();
});

const rules = [
  { repositories: ['team/**'], users: ['alice'], actions: ['push'] },
  { repositories: ['team/*', 'public/?ool'], users: ['*'], actions: ['pull'] },
  { repositories: ['alice/*'], users: ['alice'], actions: ['*'] },
];

function serviceWith(keys: TestCertificate[], extra: Record<string, unknown> = {}): TokenService {
  const tokenservice = {
    enabled: true,
    issuer: 'berth-issuer',
    service: 'registry.test',
    htpasswd,
    signingkeys: keys.map((key) => ({ key: key.keyPath, certificate: key.certPath })),
    admins: ['root'],
    rules,
    ...extra,
  };
  const config = loadConfigFromString(dump({ version: '0.1', storage: { inmemory: {} }, berth: { tokenservice } }), 'config.yml', {});
  return tokenServiceOf(config, NO_LOGIN_THROTTLE)!;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** What berth's own `auth.token` verifier (the reference's checks) makes of a token. */
function verify(token: string) {
  return new TokenVerifier({ issuer: 'berth-issuer', service: 'registry.test', algorithms: ['RS256', 'ES256'], keys: TrustedKeys.load(bundle, undefined) }).verify(token);
}

describe('repository rules', () => {
  it('globs: * stays within a component, ** crosses them, ? is one character', () => {
    expect(globToRegExp('team/*').test('team/app')).toBe(true);
    expect(globToRegExp('team/*').test('team/a/b')).toBe(false);
    expect(globToRegExp('team/**').test('team/a/b')).toBe(true);
    expect(globToRegExp('public/?ool').test('public/tool')).toBe(true);
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
  });

  it('scopes: repeated and space-joined, names with a port, malformed ones dropped', () => {
    expect(parseScopes(['repository:a/b:pull,push', 'repository:host:5000/x:pull registry:catalog:*', 'nonsense', 'repository::pull'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'host:5000/x', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('grants the intersection of what is asked and what rules allow; push implies pull; admins get everything and the catalog', () => {
    const policy = new RepositoryRules({ rules, admins: ['root'], anonymousPull: false });
    const ask = parseScopes(['repository:team/a/b:pull,push', 'repository:team/app:pull,push,delete', 'repository:other:pull', 'registry:catalog:*']);
    expect(policy.grant('alice', ask)).toEqual([
      { type: 'repository', name: 'team/a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);
    expect(policy.grant('bob', ask)).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    expect(policy.grant(undefined, ask)).toEqual([]);
    expect(policy.grant('root', ask)).toEqual([
      { type: 'repository', name: 'team/a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] },
      { type: 'repository', name: 'other', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    // podman asks `*` to delete: granted whole only to who holds every action, else what is held.
    expect(policy.grant('alice', parseScopes(['repository:alice/x:*', 'repository:team/y:*']))).toEqual([
      { type: 'repository', name: 'alice/x', actions: ['*'] },
      { type: 'repository', name: 'team/y', actions: ['pull', 'push'] },
    ]);
  });

  it('anonymous pull, when on, gives everyone pull and nothing more', () => {
    const policy = new RepositoryRules({ rules: [], admins: [], anonymousPull: true });
    expect(policy.grant(undefined, parseScopes(['repository:any/thing:pull,push']))).toEqual([{ type: 'repository', name: 'any/thing', actions: ['pull'] }]);
  });
});

describe('the token service', () => {
  it('logs a user in with Basic and issues a token the reference format verifies: x5c, libtrust kid, claims', async () => {
    const service = serviceWith([rsa]);
    const user = await service.authenticate(basic('alice', 'alice-pw'), '10.0.0.1');
    expect(user).toBe('alice');
    const answer = await service.issue(user, 'registry.test', ['repository:team/app:pull,push'], false);
    expect(answer.token).toBe(answer.access_token);
    expect(answer.expires_in).toBe(300);
    expect(new Date(answer.issued_at).toISOString()).toBe(answer.issued_at);
    expect(answer.refresh_token).toBeUndefined();
    const header = decodeProtectedHeader(answer.token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT', x5c: [rsa.x5c] });
    expect(header.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    const claims = JSON.parse(Buffer.from(answer.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'berth-issuer', sub: 'alice', aud: 'registry.test' });
    for (const time of ['exp', 'nbf', 'iat']) expect(Number.isInteger(claims[time])).toBe(true);
    expect(await verify(answer.token)).toEqual({ subject: 'alice', access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }] });
  });

  it('signs with ES256 from an EC P-256 key', async () => {
    const answer = await serviceWith([ec]).issue('bob', undefined, ['repository:team/app:pull'], false);
    expect(decodeProtectedHeader(answer.token).alg).toBe('ES256');
    expect((await verify(answer.token)).access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  });

  it('refuses a wrong password and an unknown user alike (401, Basic challenge), and another service (400)', async () => {
    const service = serviceWith([rsa]);
    for (const authorization of [basic('alice', 'wrong'), basic('mallory', 'alice-pw')]) {
      await expect(service.authenticate(authorization, '10.0.0.2')).rejects.toMatchObject({ code: 'UNAUTHORIZED', headers: { 'WWW-Authenticate': 'Basic realm="berth"' } });
    }
    await expect(service.authenticate('Bearer x', '10.0.0.2')).rejects.toBeInstanceOf(TokenRequestError);
    await expect(service.issue('alice', 'another.registry', [], false)).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('a refresh token (offline) brings new access tokens, is no access token itself, and dies with its user', async () => {
    const service = serviceWith([rsa]);
    const first = await service.issue('bob', 'registry.test', [], true);
    expect(first.refresh_token).toBeDefined();
    expect(await service.refreshUser(first.refresh_token!)).toBe('bob');
    // Its audience is not the registry's: the registry refuses it.
    await expect(verify(first.refresh_token!)).rejects.toThrow();
    // An access token is not a refresh token.
    await expect(service.refreshUser(first.token)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Altered, it does not verify.
    const [h, p, s] = first.refresh_token!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'root' })).toString('base64url');
    await expect(service.refreshUser(`${h}.${forged}.${s}`)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Bob removed from the file: his refresh token is refused.
    await writeFile(htpasswd, [htpasswdLine('alice', 'alice-pw', 4), htpasswdLine('root', 'root-pw', 4)].join('\n'));
    try {
      await expect(service.refreshUser(first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    } finally {
      await writeFile(htpasswd, [htpasswdLine('alice', 'alice-pw', 4), htpasswdLine('bob', 'bob-pw', 4), htpasswdLine('root', 'root-pw', 4)].join('\n'));
    }
  });

  it('rotation: with a new key listed before the old, tokens are signed by the new one and old refresh tokens still work; once the old is gone they do not', async () => {
    const before = serviceWith([rsa]);
    const refresh = (await before.issue('alice', undefined, [], true)).refresh_token!;
    const during = serviceWith([ec, rsa]);
    expect(decodeProtectedHeader((await during.issue('alice', undefined, [], false)).token).alg).toBe('ES256');
    expect(await during.refreshUser(refresh)).toBe('alice');
    const after = serviceWith([ec]);
    await expect(after.refreshUser(refresh)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('bad setup is refused with the key named: a key without its certificate, a missing file', async () => {
    expect(() => serviceWith([{ ...rsa, certPath: ec.certPath }])).toThrow(AuthSetupError);
    expect(() => serviceWith([{ ...rsa, certPath: ec.certPath }])).toThrow(`is not the certificate of ${rsa.keyPath}`);
    expect(() => serviceWith([{ ...rsa, keyPath: join(work.path, 'nope.key') }])).toThrow('cannot read');
    expect(() => serviceWith([rsa], { htpasswd: join(work.path, 'none') })).toThrow(AuthSetupError);
  });
});
