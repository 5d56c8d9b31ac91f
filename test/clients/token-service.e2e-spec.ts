import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type BerthProcess,
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  htpasswdLine,
  makeTestCertificate,
  type ReferenceRegistry,
  SkopeoError,
  skopeoCopy,
  skopeoRef,
  startBerth,
  startReferenceRegistry,
  type TempDir,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const service = 'registry.berth.test';
const issuer = 'berth-token-service';

/**
 * Issue 16, item 4: berth's token service is what `auth.token` points at, for the reference
 * registry (Debian's 2.8) and for berth itself: the token format interoperates.
 */
describe('berth.tokenservice: tokens the reference registry (2.8) and berth accept', () => {
  let work: TempDir;
  let berth: BerthProcess;
  let reference: ReferenceRegistry;
  let realm: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    work = await createTempDir('berth-token-service-');
    const ca = makeTestCertificate(work.path, 'token-ca', { ca: true });
    const signer = makeTestCertificate(work.path, 'token-signer', { issuer: ca });
    const htpasswd = join(work.path, 'htpasswd');
    await writeFile(htpasswd, [htpasswdLine('alice', 'alice-pw', 5), htpasswdLine('bob', 'bob-pw', 5)].join('\n'));
    const port = await freePort();
    realm = `http://127.0.0.1:${port}/auth/token`;
    const config = filesystemRegistryConfig({ rootDirectory: join(work.path, 'berth-root'), port });
    config.berth = {
      tokenservice: {
        enabled: true,
        issuer,
        service,
        htpasswd,
        signingkeys: [{ key: signer.keyPath, certificate: signer.certPath }],
        rules: [
          { repositories: ['team/**'], users: ['alice'], actions: ['push'] },
          { repositories: ['team/**'], users: ['*'], actions: ['pull'] },
        ],
      },
    };
    // berth trusts its own tokens as any registry would: auth.token at itself.
    config.auth = { token: { realm, service, issuer, rootcertbundle: ca.certPath } };
    berth = await startBerth({ config });
    reference = await startReferenceRegistry({
      rootDirectory: join(work.path, 'reference-root'),
      port: await freePort(),
      extraConfig: { auth: { token: { realm, service, issuer, rootcertbundle: ca.certPath } } },
    });
  }, 60_000);

  afterAll(async () => {
    await reference?.stop();
    await berth?.stop();
    for (const cleanup of cleanups) await cleanup();
    await work?.remove();
  });

  async function image(tag: string): Promise<string> {
    const dir = join(work.path, `image-${tag}`);
    await writeOciImageLayout(dir, { tag, layers: [{ size: MiB }, { size: 100 }] });
    return skopeoRef.oci(dir, tag);
  }

  for (const target of ['reference', 'berth'] as const) {
    it(`${target}: skopeo pushes as alice and pulls as bob with tokens from berth; bob's push is denied`, async () => {
      const url = target === 'reference' ? reference.url : berth.url;
      const source = await image(`${target}-v1`);
      await skopeoCopy(source, skopeoRef.registry(url, 'team/app', 'v1'), { destCredentials: 'alice:alice-pw' });
      await skopeoCopy(skopeoRef.registry(url, 'team/app', 'v1'), skopeoRef.oci(join(work.path, `pulled-${target}`), 'v1'), { srcCredentials: 'bob:bob-pw' });
      const denied = await skopeoCopy(source, skopeoRef.registry(url, 'team/app', 'bob'), { destCredentials: 'bob:bob-pw' }).catch((error: unknown) => error);
      expect(denied).toBeInstanceOf(SkopeoError);
      expect((denied as SkopeoError).stderr).toMatch(/denied|unauthorized|insufficient_scope|authentication required/i);
      const wrong = await skopeoCopy(source, skopeoRef.registry(url, 'team/app', 'v2'), { destCredentials: 'alice:wrong' }).catch((error: unknown) => error);
      expect(wrong).toBeInstanceOf(SkopeoError);
    });
  }

  it('podman login, push and pull through the reference with berth as its token server', async () => {
    // podman names an image pulled from a layout after its path, which must be lower-case.
    const dir = join(tmpdir(), `berth-token-podman-${randomBytes(4).toString('hex')}`);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeOciImageLayout(dir, { tag: 'v1', layers: [{ size: MiB }] });
    const base = ['--root', join(work.path, 'podman-root'), '--runroot', join(work.path, 'podman-run'), '--storage-driver', 'vfs'];
    const authfile = ['--authfile', join(work.path, 'auth.json')];
    const host = new URL(reference.url).host;
    const podman = (...args: string[]) => run('podman', [...base, ...args], { maxBuffer: 16 * MiB });
    await podman('login', ...authfile, '--tls-verify=false', '-u', 'alice', '-p', 'alice-pw', host);
    await podman('pull', '-q', `oci:${dir}:v1`);
    const local = (await podman('images', '-q')).stdout.trim().split('\n')[0]!;
    await podman('push', ...authfile, '-q', '--tls-verify=false', local, `${host}/team/podman:v1`);
    await podman('rmi', '-a', '-f');
    await podman('pull', ...authfile, '-q', '--tls-verify=false', `${host}/team/podman:v1`);
    const wrong = await podman('login', ...authfile, '--tls-verify=false', '-u', 'alice', '-p', 'nope', host).catch((error: { stderr: string }) => error);
    expect((wrong as { stderr?: string }).stderr).toMatch(/401|unauthorized|invalid username\/password/i);
  });

  it('the OAuth2 POST grants (containerd, docker with an identity token): password with offline access, then refresh_token', async () => {
    const post = async (form: Record<string, string>) => {
      const response = await fetch(realm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    const login = await post({ grant_type: 'password', client_id: 'containerd-client', service, scope: 'repository:team/app:pull', username: 'bob', password: 'bob-pw', access_type: 'offline' });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(login.body.scope).toBe('repository:team/app:pull');
    const tags = await fetch(`${reference.url}/v2/team/app/tags/list`, { headers: { authorization: `Bearer ${login.body.access_token}` } });
    expect(tags.status).toBe(200);
    const refreshed = await post({ grant_type: 'refresh_token', client_id: 'docker', service, scope: 'repository:team/app:pull', refresh_token: login.body.refresh_token! });
    expect(refreshed.status).toBe(200);
    expect((await fetch(`${reference.url}/v2/team/app/tags/list`, { headers: { authorization: `Bearer ${refreshed.body.access_token}` } })).status).toBe(200);
    // The refresh token is no access token.
    expect((await fetch(`${reference.url}/v2/team/app/tags/list`, { headers: { authorization: `Bearer ${login.body.refresh_token}` } })).status).toBe(401);
    expect((await post({ grant_type: 'password', client_id: 'x', username: 'bob', password: 'bad' })).status).toBe(401);
    expect((await post({ grant_type: 'client_credentials', client_id: 'x' })).body.error).toBe('unsupported_grant_type');
    expect((await post({ grant_type: 'password', username: 'bob', password: 'bob-pw' })).body.error).toBe('invalid_request');
  });
});
