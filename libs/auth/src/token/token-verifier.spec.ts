import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTempDir, makeTestCertificate, registryClaims, signRegistryToken, type TempDir, type TestCertificate, type TestKeyType } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint, libtrustKeyId } from './key-ids';
import { InvalidTokenError, KNOWN_SIGNING_ALGORITHMS, type TokenClaims, TokenVerifier } from './token-verifier';
import { TrustedKeys } from './trusted-keys';

const issuer = 'test-issuer';
const service = 'test-registry';
const pull = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];

let dir: TempDir;
let ca: TestCertificate;
let intermediate: TestCertificate;
let verifier: TokenVerifier;
const leaves = new Map<TestKeyType, TestCertificate>();
const algOf: Record<TestKeyType, string[]> = { rsa: ['RS256', 'RS384', 'RS512'], ec256: ['ES256'], ec384: ['ES384'], ec521: ['ES512'], ed25519: ['EdDSA'] };

beforeAll(async () => {
  dir = await createTempDir('berth-token-');
  ca = makeTestCertificate(dir.path, 'ca', { keyType: 'ec256' });
  intermediate = makeTestCertificate(dir.path, 'intermediate', { keyType: 'ec256', issuer: ca, ca: true });
  for (const keyType of Object.keys(algOf) as TestKeyType[]) leaves.set(keyType, makeTestCertificate(dir.path, `leaf-${keyType}`, { keyType, issuer: ca }));
  verifier = verifierFor(ca.certPath);
});

afterAll(async () => dir?.remove());

function verifierFor(rootcertbundle: string | undefined, jwks?: string, algorithms: readonly string[] = KNOWN_SIGNING_ALGORITHMS): TokenVerifier {
  return new TokenVerifier({ issuer, service, algorithms, keys: TrustedKeys.load(rootcertbundle, jwks) });
}

function leaf(keyType: TestKeyType): TestCertificate {
  return leaves.get(keyType)!;
}

async function refusal(promise: Promise<TokenClaims>): Promise<string> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(InvalidTokenError);
  return (error as Error).message;
}

describe('TokenVerifier: finding the key', () => {
  for (const [keyType, algs] of Object.entries(algOf) as [TestKeyType, string[]][]) {
    for (const alg of algs) {
      it(`takes ${alg} with an x5c chain to the bundle (${keyType} leaf)`, async () => {
        const token = await signRegistryToken(leaf(keyType).privateKey, { alg, x5c: [leaf(keyType).x5c] }, registryClaims(issuer, service, 'alice', pull));
        await expect(verifier.verify(token)).resolves.toEqual({ subject: 'alice', access: pull });
      });
    }
  }

  it('takes a chain through an intermediate, and refuses it without the intermediate', async () => {
    const signer = makeTestCertificate(dir.path, 'leaf-via-intermediate', { keyType: 'rsa', issuer: intermediate });
    const claims = registryClaims(issuer, service, 'alice', pull);
    const chained = await signRegistryToken(signer.privateKey, { alg: 'RS256', x5c: [signer.x5c, intermediate.x5c] }, claims);
    await expect(verifier.verify(chained)).resolves.toMatchObject({ subject: 'alice' });
    const alone = await signRegistryToken(signer.privateKey, { alg: 'RS256', x5c: [signer.x5c] }, claims);
    expect(await refusal(verifier.verify(alone))).toMatch(/x5c chain/);
  });

  it('takes a self-signed certificate that is itself in the bundle', async () => {
    const token = await signRegistryToken(ca.privateKey, { alg: 'ES256', x5c: [ca.x5c] }, registryClaims(issuer, service, 'alice', pull));
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('finds a bundle key by its libtrust key ID (2.8) and by its RFC 7638 thumbprint (3.x)', async () => {
    const bundled = makeTestCertificate(dir.path, 'bundled-rsa', { keyType: 'rsa' });
    const byKid = verifierFor(bundled.certPath);
    const key = bundled.certificate.publicKey;
    expect(libtrustKeyId(key)).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    for (const kid of [libtrustKeyId(key), jwkThumbprint(key)]) {
      const token = await signRegistryToken(bundled.privateKey, { alg: 'RS256', kid }, registryClaims(issuer, service, 'bob', pull));
      await expect(byKid.verify(token)).resolves.toMatchObject({ subject: 'bob' });
    }
    const unknown = await signRegistryToken(bundled.privateKey, { alg: 'RS256', kid: 'AAAA:BBBB' }, registryClaims(issuer, service, 'bob', pull));
    expect(await refusal(byKid.verify(unknown))).toMatch(/untrusted key/);
  });

  it('finds a JWKS key by its kid, and a jwk header only when it is that very key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwksPath = join(dir.path, 'keys.jwks');
    writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'signing-2026' }] }));
    const fromJwks = verifierFor(undefined, jwksPath);
    const claims = registryClaims(issuer, service, 'carol', pull);
    await expect(fromJwks.verify(await signRegistryToken(privateKey, { alg: 'ES256', kid: 'signing-2026' }, claims))).resolves.toMatchObject({ subject: 'carol' });
    const asJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'signing-2026' };
    await expect(fromJwks.verify(await signRegistryToken(privateKey, { alg: 'ES256', jwk: asJwk }, claims))).resolves.toMatchObject({ subject: 'carol' });
    // CVE-2025-24976: an attacker's own key under a trusted kid.
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spoofed = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'signing-2026' };
    expect(await refusal(fromJwks.verify(await signRegistryToken(attacker.privateKey, { alg: 'ES256', jwk: spoofed }, claims)))).toMatch(/jwk/);
  });
});

describe('TokenVerifier: what it refuses', () => {
  const good = () => registryClaims(issuer, service, 'alice', pull);
  const rsa = () => leaf('rsa');
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    signRegistryToken(rsa().privateKey, { alg: 'RS256', x5c: [rsa().x5c], ...header }, claims);

  it('a token signed by a key the bundle does not lead to, naming a trusted certificate (forged)', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await signRegistryToken(stranger, { alg: 'RS256', x5c: [rsa().x5c] }, good());
    expect(await refusal(verifier.verify(forged))).toMatch(/signature/);
    const [head, , signature] = (await sign(good())).split('.');
    const widened = Buffer.from(JSON.stringify({ ...good(), access: [{ type: 'repository', name: 'team/app', actions: ['*'] }] })).toString('base64url');
    expect(await refusal(verifier.verify(`${head}.${widened}.${signature}`))).toMatch(/signature/);
  });

  it('a chain to a CA that is not in the bundle', async () => {
    const otherCa = makeTestCertificate(dir.path, 'other-ca', { keyType: 'rsa' });
    const signer = makeTestCertificate(dir.path, 'other-leaf', { keyType: 'rsa', issuer: otherCa });
    const token = await signRegistryToken(signer.privateKey, { alg: 'RS256', x5c: [signer.x5c, otherCa.x5c] }, good());
    expect(await refusal(verifier.verify(token))).toMatch(/x5c chain/);
  });

  it('expired past the 60 s leeway, and not yet valid beyond it; taken within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(verifier.verify(await sign({ ...good(), exp: now - 70 })))).toMatch(/expired/);
    await expect(verifier.verify(await sign({ ...good(), exp: now - 50 }))).resolves.toBeDefined();
    expect(await refusal(verifier.verify(await sign({ ...good(), nbf: now + 70 })))).toMatch(/not valid yet/);
    await expect(verifier.verify(await sign({ ...good(), nbf: now + 50 }))).resolves.toBeDefined();
  });

  it('exp missing or not an integer (JavaScript milliseconds divided by 1000)', async () => {
    const { exp: _exp, ...noExp } = good();
    expect(await refusal(verifier.verify(await sign(noExp)))).toMatch(/exp/);
    expect(await refusal(verifier.verify(await sign({ ...good(), exp: Date.now() / 1000 + 300.5 })))).toMatch(/exp/);
  });

  it('another audience or another issuer; an audience list holding the service is taken (3.x)', async () => {
    expect(await refusal(verifier.verify(await sign({ ...good(), aud: 'other-registry' })))).toMatch(/another service/);
    expect(await refusal(verifier.verify(await sign({ ...good(), iss: 'someone-else' })))).toMatch(/another issuer/);
    await expect(verifier.verify(await sign({ ...good(), aud: ['other', service] }))).resolves.toBeDefined();
  });

  it('alg none, an HMAC signed with the public key as secret, and an algorithm not configured', async () => {
    const payload = Buffer.from(JSON.stringify(good())).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', x5c: [rsa().x5c] })).toString('base64url')}.${payload}.`;
    expect(await refusal(verifier.verify(none))).toMatch(/algorithm "none"/);
    const { createHmac } = await import('node:crypto');
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', x5c: [rsa().x5c] })).toString('base64url');
    const secret = rsa().certificate.publicKey.export({ type: 'spki', format: 'pem' });
    const hs = `${head}.${payload}.${createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url')}`;
    expect(await refusal(verifier.verify(hs))).toMatch(/algorithm "HS256"/);
    const onlyEs = verifierFor(ca.certPath, undefined, ['ES256']);
    expect(await refusal(onlyEs.verify(await sign(good())))).toMatch(/algorithm "RS256"/);
  });

  it('an algorithm that does not fit the key (ES384 from a P-256 key, RS256 from an EC key)', async () => {
    const ec = leaf('ec256');
    const mismatched = await signRegistryToken(leaf('ec384').privateKey, { alg: 'ES384', x5c: [ec.x5c] }, good());
    expect(await refusal(verifier.verify(mismatched))).toMatch(/signature/);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', x5c: [ec.x5c] })).toString('base64url');
    const body = Buffer.from(JSON.stringify(good())).toString('base64url');
    expect(await refusal(verifier.verify(`${header}.${body}.AAAA`))).toMatch(/signature/);
  });

  it('garbage, a token naming no key, and a malformed access claim', async () => {
    expect(await refusal(verifier.verify('not-a-token'))).toMatch(/compact/);
    const noKey = await signRegistryToken(rsa().privateKey, { alg: 'RS256' }, good());
    expect(await refusal(verifier.verify(noKey))).toMatch(/names no key/);
    expect(await refusal(verifier.verify(await sign({ ...good(), access: [{ type: 'repository', name: 'x' }] })))).toMatch(/access/);
  });
});

describe('TrustedKeys', () => {
  it('refuses a bundle without a certificate and a JWKS without keys, naming the file', async () => {
    const empty = join(dir.path, 'empty.pem');
    writeFileSync(empty, createPublicKey(ca.privateKey).export({ type: 'spki', format: 'pem' }));
    expect(() => TrustedKeys.load(empty, undefined)).toThrow(`${empty} holds no PEM CERTIFICATE block`);
    const jwks = join(dir.path, 'empty.jwks');
    writeFileSync(jwks, '{"keys":[]}');
    expect(() => TrustedKeys.load(undefined, jwks)).toThrow(/holds no key/);
    expect(() => TrustedKeys.load(join(dir.path, 'missing.pem'), undefined)).toThrow(/cannot be read \(ENOENT\)/);
  });
});
