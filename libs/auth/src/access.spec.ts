import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciError } from '@berth/oci';
import { createTempDir, registryClaims, signRegistryToken, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredAccess, scopeOf } from './access';
import { SillyAccessController } from './silly/silly-access-controller';
import { TokenAccessController } from './token/token-access-controller';
import { TokenVerifier } from './token/token-verifier';
import { TrustedKeys } from './token/trusted-keys';

const repo = (method: string, mountFrom?: string) => requiredAccess({ kind: 'repository', name: 'team/app', method, mountFrom });

describe('requiredAccess: the reference appendAccessRecords table', () => {
  it.each([
    ['GET', ['pull']],
    ['HEAD', ['pull']],
    ['POST', ['pull', 'push']],
    ['PUT', ['pull', 'push']],
    ['PATCH', ['pull', 'push']],
    ['DELETE', ['delete']],
  ])('%s on a repository needs %j', (method, actions) => {
    expect(repo(method).map((record) => record.action)).toEqual(actions);
  });

  it('a mount adds pull on its source; the catalog needs registry:catalog:*; /v2/ nothing', () => {
    expect(scopeOf(repo('POST', 'team/base'))).toBe('repository:team/app:pull,push repository:team/base:pull');
    expect(scopeOf(requiredAccess({ kind: 'catalog', method: 'GET' }))).toBe('registry:catalog:*');
    expect(requiredAccess({ kind: 'base', method: 'GET' })).toEqual([]);
  });
});

const request = (authorization?: string, host?: string, forwardedProto?: string) => ({ authorization, clientAddress: '192.0.2.1', host, forwardedProto });

async function refusal(promise: Promise<unknown>): Promise<OciError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(OciError);
  return error as OciError;
}

describe('SillyAccessController', () => {
  const silly = new SillyAccessController({ realm: 'https://auth/token', service: 'registry' });
  it('any Authorization passes as silly; none gets a Bearer challenge with one scope entry per record', async () => {
    await expect(silly.authorize(request('x'), repo('POST'))).resolves.toEqual({ user: 'silly' });
    const error = await refusal(silly.authorize(request(), repo('POST', 'team/base')));
    expect(error.headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="https://auth/token",service="registry",scope="repository:team/app:pull repository:team/app:push repository:team/base:pull"',
    });
  });
});

describe('TokenAccessController', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let dir: TempDir;
  let verifier: TokenVerifier;
  let t: string;
  beforeAll(async () => {
    dir = await createTempDir('berth-token-controller-');
    const jwks = join(dir.path, 'keys.jwks');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
    verifier = new TokenVerifier({ issuer: 'i', service: 's', algorithms: ['EdDSA'], keys: TrustedKeys.load(undefined, jwks) });
    t = await signRegistryToken(privateKey, { alg: 'EdDSA', kid: 'k1' }, registryClaims('i', 's', 'ci', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]));
  });
  afterAll(async () => dir?.remove());

  it('autoredirect: the realm is the registry\'s own address, https unless a proxy says http', async () => {
    const controller = new TokenAccessController({ realm: 'https://elsewhere/token', service: 's', autoredirect: true }, verifier);
    const error = await refusal(controller.authorize(request(undefined, 'registry.example:5000'), []));
    expect(error.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="https://registry.example:5000/auth/token",service="s"' });
    const behindProxy = new TokenAccessController({ realm: 'r', service: 's', autoredirect: true, autoredirectpath: '/token' }, verifier);
    const plain = await refusal(behindProxy.authorize(request(undefined, 'registry.example', 'http'), []));
    expect(plain.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="http://registry.example/token",service="s"' });
  });

  it('Basic credentials get the plain challenge; a granted pull passes; a push is 403 DENIED naming only what is missing', async () => {
    const controller = new TokenAccessController({ realm: 'r', service: 's', autoredirect: false }, verifier);
    const basic = await refusal(controller.authorize(request('Basic YTpi'), repo('GET')));
    expect(basic.status).toBe(401);
    expect(basic.headers?.['WWW-Authenticate']).toBe('Bearer realm="r",service="s",scope="repository:team/app:pull"');
    await expect(controller.authorize(request(`Bearer ${t}`), repo('GET'))).resolves.toEqual({ user: 'ci' });
    const denied = await refusal(controller.authorize(request(`Bearer ${t}`), repo('PUT')));
    expect(denied.status).toBe(403);
    expect(denied.toJSON()).toEqual({ code: 'DENIED', message: 'requested access to the resource is denied', detail: [{ Type: 'repository', Class: '', Name: 'team/app', Action: 'push' }] });
    expect(denied.headers?.['WWW-Authenticate']).toBe('Bearer realm="r",service="s",scope="repository:team/app:pull,push",error="insufficient_scope"');
  });
});
