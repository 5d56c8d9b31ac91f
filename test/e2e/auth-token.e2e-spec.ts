import { createHmac, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { libtrustKeyId, jwkThumbprint } from '@berth/auth';
import { createTempDir, makeTestCertificate, registryClaims, signRegistryToken, type TempDir, type TestCertificate } from '@berth/testing';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

const realm = 'https://auth.example.test/token';
const service = 'berth-e2e';
const issuer = 'berth-e2e-issuer';
type Access = { type: string; name: string; actions: string[] }[];

/** The parameters of a Bearer challenge; `scope` as a set of `type:name:action`, whatever the order. */
function challengeOf(res: Response): { realm?: string; service?: string; scope: string[]; error?: string } {
  const header = String(res.headers['www-authenticate'] ?? '');
  expect(header, header).toMatch(/^Bearer /);
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const scope = (params.scope ?? '')
    .split(' ')
    .filter(Boolean)
    .flatMap((entry) => {
      const [type, ...rest] = entry.split(':');
      const actions = rest.pop()!.split(',');
      return actions.map((action) => `${type}:${rest.join(':')}:${action}`);
    })
    .sort();
  return { realm: params.realm, service: params.service, scope, error: params.error };
}

describe('auth.token', () => {
  let work: TempDir;
  let registry: RegistryUnderTest;
  let ca: TestCertificate;
  let signer: TestCertificate;
  let bundled: TestCertificate;
  const jwksKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeAll(async () => {
    work = await createTempDir('berth-token-');
    ca = makeTestCertificate(work.path, 'token-ca', { keyType: 'rsa' });
    signer = makeTestCertificate(work.path, 'token-signer', { keyType: 'rsa', issuer: ca });
    bundled = makeTestCertificate(work.path, 'token-kid', { keyType: 'ec256' });
    const bundle = join(work.path, 'bundle.pem');
    await writeFile(bundle, ca.certPem + bundled.certPem);
    const jwks = join(work.path, 'keys.jwks');
    await writeFile(jwks, JSON.stringify({ keys: [{ ...jwksKey.publicKey.export({ format: 'jwk' }), kid: 'jwks-2026' }] }));
    // `jwks` is 3.x's key: the reference 2.8 drops it unread.
    registry = await startRegistryUnderTest({ auth: { token: { realm, service, issuer, rootcertbundle: bundle, jwks } } });
  });

  afterAll(async () => {
    await registry?.stop();
    await work?.remove();
  });

  const x5cToken = (access: Access, claims: Record<string, unknown> = {}) =>
    signRegistryToken(signer.privateKey, { alg: 'RS256', x5c: [signer.x5c, ca.x5c] }, { ...registryClaims(issuer, service, 'alice', access), ...claims });
  const pull = (name = 'team/app') => [{ type: 'repository', name, actions: ['pull'] }];
  const pushPull = (name = 'team/app') => [{ type: 'repository', name, actions: ['pull', 'push'] }];

  describe('without a token: 401 and a challenge naming exactly the scope needed', () => {
    it('/v2/: realm and service, no scope, detail null', async () => {
      const res = await http(registry.url).get('/v2/');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(`Bearer realm="${realm}",service="${service}"`);
      expect(JSON.parse(res.text)).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] });
    });

    const cases: [string, (url: string) => Promise<Response>, string[]][] = [
      ['a pull', (url) => http(url).get('/v2/team/app/manifests/latest'), ['repository:team/app:pull']],
      ['a push', (url) => http(url).post('/v2/team/app/blobs/uploads/'), ['repository:team/app:pull', 'repository:team/app:push']],
      [
        'a cross-repository mount',
        (url) => http(url).post(`/v2/team/app/blobs/uploads/?mount=sha256:${'a'.repeat(64)}&from=team/base`),
        ['repository:team/app:pull', 'repository:team/app:push', 'repository:team/base:pull'],
      ],
      ['a delete', (url) => http(url).delete(`/v2/team/app/manifests/sha256:${'b'.repeat(64)}`), ['repository:team/app:delete']],
      ['an upload cancelled', (url) => http(url).delete('/v2/team/app/blobs/uploads/some-id'), ['repository:team/app:delete']],
      ['the catalog', (url) => http(url).get('/v2/_catalog'), ['registry:catalog:*']],
    ];
    for (const [what, send, scope] of cases) {
      it(what, async () => {
        const res = await send(registry.url);
        expect(res.status, res.text).toBe(401);
        expect(challengeOf(res)).toEqual({ realm, service, scope, error: undefined });
        expect(JSON.parse(res.text).errors[0].code).toBe('UNAUTHORIZED');
      });
    }
  });

  describe('tokens signed as the reference documents', () => {
    it('an x5c chain to the bundle: /v2/ and a pull pass', async () => {
      const token = await x5cToken(pull());
      expect((await http(registry.url).get('/v2/').auth(token, { type: 'bearer' })).status).toBe(200);
      const tags = await http(registry.url).get('/v2/team/app/tags/list').auth(token, { type: 'bearer' });
      expect(tags.status, tags.text).toBe(404);
      expect(JSON.parse(tags.text).errors[0].code).toBe('NAME_UNKNOWN');
    });

    it('push and pull: an upload starts', async () => {
      const res = await http(registry.url).post('/v2/team/app/blobs/uploads/').auth(await x5cToken(pushPull()), { type: 'bearer' });
      expect(res.status, res.text).toBe(202);
    });

    it("a kid in libtrust's form naming a bundle key (2.8's lookup)", async () => {
      const kid = libtrustKeyId(bundled.certificate.publicKey);
      const token = await signRegistryToken(bundled.privateKey, { alg: 'ES256', kid }, registryClaims(issuer, service, 'alice', pull()));
      expect((await http(registry.url).get('/v2/team/app/tags/list').auth(token, { type: 'bearer' })).status).toBe(404);
    });

    for (const [what, kid, key] of [
      ["a kid that is a bundle key's RFC 7638 thumbprint (3.x's lookup)", () => jwkThumbprint(bundled.certificate.publicKey), () => bundled.privateKey],
      ['a kid naming a key of the jwks file (3.x)', () => 'jwks-2026', () => jwksKey.privateKey],
    ] as const) {
      beyondReference("2.8 knows bundle keys only by libtrust ID and reads no jwks", /expected 401 to be 404/, what, async () => {
        const token = await signRegistryToken(key(), { alg: 'ES256', kid: kid() }, registryClaims(issuer, service, 'alice', pull()));
        const res = await http(registry.url).get('/v2/team/app/tags/list').auth(token, { type: 'bearer' });
        expect(res.status, res.text).toBe(404);
      });
    }
  });

  describe('tokens refused: 401 invalid_token', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string>][] = [
      ['forged: signed by another key under the trusted chain', () =>
        signRegistryToken(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, { alg: 'RS256', x5c: [signer.x5c, ca.x5c] }, registryClaims(issuer, service, 'alice', pull()))],
      ['forged: the claims widened after signing', async () => {
        const [head, , signature] = (await x5cToken(pull())).split('.');
        const widened = Buffer.from(JSON.stringify(registryClaims(issuer, service, 'alice', [{ type: 'repository', name: 'team/app', actions: ['*'] }]))).toString('base64url');
        return `${head}.${widened}.${signature}`;
      }],
      ['a chain to a CA not in the bundle', async () => {
        const otherCa = makeTestCertificate(work.path, 'other-ca', { keyType: 'rsa' });
        const other = makeTestCertificate(work.path, 'other-signer', { keyType: 'rsa', issuer: otherCa });
        return signRegistryToken(other.privateKey, { alg: 'RS256', x5c: [other.x5c, otherCa.x5c] }, registryClaims(issuer, service, 'alice', pull()));
      }],
      ['expired (past the 60 s leeway)', () => x5cToken(pull(), { exp: now() - 120 })],
      ['not valid yet (beyond the leeway)', () => x5cToken(pull(), { nbf: now() + 600 })],
      ['for another audience', () => x5cToken(pull(), { aud: 'another-registry' })],
      ['from another issuer', () => x5cToken(pull(), { iss: 'someone-else' })],
      ['alg none', async () => {
        const head = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', x5c: [signer.x5c, ca.x5c] })).toString('base64url');
        return `${head}.${Buffer.from(JSON.stringify(registryClaims(issuer, service, 'alice', pull()))).toString('base64url')}.`;
      }],
      ['HS256 keyed with the public certificate (algorithm confusion)', async () => {
        const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', x5c: [signer.x5c, ca.x5c] })).toString('base64url');
        const body = Buffer.from(JSON.stringify(registryClaims(issuer, service, 'alice', pull()))).toString('base64url');
        return `${head}.${body}.${createHmac('sha256', signer.certPem).update(`${head}.${body}`).digest('base64url')}`;
      }],
      ['not a JWT at all', async () => 'not-a-token'],
    ];
    for (const [what, token] of cases) {
      it(what, async () => {
        const res = await http(registry.url).get('/v2/team/app/tags/list').auth(await token(), { type: 'bearer' });
        expect(res.status, res.text).toBe(401);
        expect(challengeOf(res)).toEqual({ realm, service, scope: ['repository:team/app:pull'], error: 'invalid_token' });
        expect(JSON.parse(res.text).errors[0].code).toBe('UNAUTHORIZED');
      });
    }
  });

  describe('good tokens without the action: 403 DENIED', () => {
    const denied = async (res: Response, scope: string[]) => {
      expect(res.status, res.text).toBe(403);
      expect(JSON.parse(res.text).errors[0].code).toBe('DENIED');
      expect(challengeOf(res)).toEqual({ realm, service, scope, error: 'insufficient_scope' });
    };
    /** The reference's own answer to the same request: 401 with error="insufficient_scope". */
    const referenceAnswer = (send: () => Promise<Response>) => async () => {
      const res = await send();
      expect(res.status, res.text).toBe(401);
      expect(challengeOf(res).error).toBe('insufficient_scope');
    };
    const cases: [string, () => Promise<Response>, string[]][] = [
      ['a pull-only token used to push', async () => http(registry.url).post('/v2/team/app/blobs/uploads/').auth(await x5cToken(pull()), { type: 'bearer' }), ['repository:team/app:pull', 'repository:team/app:push']],
      ['a token for one repository used on another', async () => http(registry.url).get('/v2/team/other/tags/list').auth(await x5cToken(pushPull()), { type: 'bearer' }), ['repository:team/other:pull']],
      ['a mount whose source the token does not grant', async () => http(registry.url).post(`/v2/team/app/blobs/uploads/?mount=sha256:${'a'.repeat(64)}&from=team/base`).auth(await x5cToken(pushPull()), { type: 'bearer' }), ['repository:team/app:pull', 'repository:team/app:push', 'repository:team/base:pull']],
      ["odd scope: a name '*' (no wildcards)", async () => http(registry.url).get('/v2/team/app/tags/list').auth(await x5cToken(pull('*')), { type: 'bearer' }), ['repository:team/app:pull']],
      ["odd scope: a glob 'team/*'", async () => http(registry.url).get('/v2/team/app/tags/list').auth(await x5cToken(pull('team/*')), { type: 'bearer' }), ['repository:team/app:pull']],
      ["odd scope: the name in other case 'TEAM/APP'", async () => http(registry.url).get('/v2/team/app/tags/list').auth(await x5cToken(pull('TEAM/APP')), { type: 'bearer' }), ['repository:team/app:pull']],
      ['odd scope: registry:catalog:pull (the catalog needs *)', async () => http(registry.url).get('/v2/_catalog').auth(await x5cToken([{ type: 'registry', name: 'catalog', actions: ['pull'] }]), { type: 'bearer' }), ['registry:catalog:*']],
      ['a push token used to delete', async () => http(registry.url).delete(`/v2/team/app/manifests/sha256:${'b'.repeat(64)}`).auth(await x5cToken(pushPull()), { type: 'bearer' }), ['repository:team/app:delete']],
    ];
    for (const [what, send, scope] of cases) {
      beyondReference('2.8 answers 401 insufficient_scope; RFC 6750 and the issue ask 403, reported as "denied"', referenceAnswer(send), what, async () => denied(await send(), scope));
    }

    it('registry:catalog:* opens the catalog', async () => {
      const res = await http(registry.url).get('/v2/_catalog').auth(await x5cToken([{ type: 'registry', name: 'catalog', actions: ['*'] }]), { type: 'bearer' });
      expect(res.status, res.text).toBe(200);
    });
  });
});
