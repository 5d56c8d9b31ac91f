import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempDir, makeTestCa, repoRoot, type TempDir, type TestCa } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Debian's default registry config, as the docker-registry package ships it: it has auth.htpasswd. */
const debianConfig = join(repoRoot, 'cli', 'test', 'fixtures', 'debian-registry-config.yml');
const redisAddr = process.env.BERTH_TEST_REDIS_ADDR ?? '127.0.0.1:6379';

/**
 * Runs the built `berth` command to its end; a `serve` that started after all is killed at
 * `limitMs` (its signal then tells the test it did not refuse).
 */
function berth(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 20_000) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const options = { env: { ...process.env, ...env }, timeout: limitMs };
    execFile(process.execPath, [join(repoRoot, 'cli/dist/main.js'), ...args], options, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: failed ? (failed.code ?? null) : 0, signal: failed?.signal ?? null, stdout, stderr });
    });
  });
}

describe('berth config check says what berth serve would refuse, in the same words', () => {
  let work: TempDir;

  beforeAll(async () => {
    work = await createTempDir('berth-cli-check-');
  });

  afterAll(async () => {
    await work?.remove();
  });

  async function configFile(text: string): Promise<string> {
    const file = join(work.path, `config-${Math.random().toString(36).slice(2)}.yml`);
    await writeFile(file, text);
    return file;
  }

  it("Debian's default config (auth.htpasswd at a directory): check refuses it with serve's own line, exit 2", async () => {
    const checked = await berth(['config', 'check', debianConfig]);
    const served = await berth(['serve', debianConfig]);
    expect(checked.code).toBe(2);
    expect(checked.stdout).toBe('');
    // The package's path is its config directory (EISDIR), or nothing where it is not installed.
    expect(checked.stderr.trim()).toMatch(
      new RegExp(`^berth: ${debianConfig}: auth\\.htpasswd\\.path: /etc/docker/registry cannot be read \\((EISDIR|ENOENT)\\)$`),
    );
    expect(served).toMatchObject({ code: 2, stderr: checked.stderr });
  });

  it('auth: a non-bcrypt htpasswd entry, a bundle without a certificate, an algorithm berth cannot verify, in the same words as serve', async () => {
    const md5 = join(work.path, 'md5.htpasswd');
    await writeFile(md5, '# made without -B\nalice:$apr1$Kx2.s1Zq$4JxQbZkH2J3C8QeGkE8GX/\n');
    const notCerts = join(work.path, 'not-certs.pem');
    await writeFile(notCerts, 'nothing here\n');
    const cases: [string, string][] = [
      [`auth: {htpasswd: {realm: r, path: "${md5}"}}`, `auth.htpasswd.path: ${md5} line 2: the entry of "alice" is not a bcrypt hash; only bcrypt ($2y$, $2a$, $2b$) is accepted: make it with htpasswd -B`],
      [`auth: {token: {realm: r, service: s, issuer: i, rootcertbundle: "${notCerts}"}}`, `auth.token.rootcertbundle: ${notCerts} holds no PEM CERTIFICATE block`],
      [
        `auth: {token: {realm: r, service: s, issuer: i, rootcertbundle: "${notCerts}", signingalgorithms: [HS256]}}`,
        'auth.token.signingalgorithms: HS256 cannot be verified: use some of RS256, RS384, RS512, ES256, ES384, ES512, EdDSA, PS256, PS384, PS512 (no HMAC: berth holds no shared secret)',
      ],
    ];
    for (const [section, line] of cases) {
      const file = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nhttp: {addr: "127.0.0.1:0"}\n${section}\n`);
      const checked = await berth(['config', 'check', file]);
      expect(checked).toMatchObject({ code: 2, stdout: '' });
      expect(checked.stderr.trim()).toBe(`berth: ${file}: ${line}`);
      expect(await berth(['serve', file])).toMatchObject({ code: 2, stderr: checked.stderr });
    }
  });

  it('auth files are the gateway\'s: check --service manifest does not read them', async () => {
    const file = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nredis: {addr: "${redisAddr}"}\nauth: {htpasswd: {realm: r, path: /nonexistent/htpasswd}}\n`);
    expect(await berth(['config', 'check', '--service', 'manifest', file])).toMatchObject({ code: 0, stdout: `${file}: ok\n` });
  });

  it('reports every refusal at once: auth and a unix socket', async () => {
    const file = await configFile(
      'version: 0.1\nstorage: {inmemory: {}}\nhttp: {addr: /run/berth.sock, net: unix}\nauth: {htpasswd: {realm: r, path: /nonexistent/htpasswd}}\n',
    );
    const checked = await berth(['config', 'check', file]);
    expect(checked.code).toBe(2);
    expect(checked.stderr.trim().split('\n')).toEqual([
      `berth: ${file}: auth.htpasswd.path: /nonexistent/htpasswd cannot be read (ENOENT)`,
      `${file}: http.net: unix sockets are not served by this version of berth yet; use tcp and a HOST:PORT http.addr`,
    ]);
    expect(await berth(['serve', file])).toMatchObject({ code: 2, stderr: checked.stderr });
  });

  describe('--service without http.secret', () => {
    const secretLine = (file: string) =>
      `berth: ${file}: http.secret: missing: services run apart need one secret for upload state, or a push whose chunks reach two upload instances fails (BLOB_UPLOAD_INVALID); set http.secret (or REGISTRY_HTTP_SECRET) to the same random string for every instance`;

    for (const service of ['upload', 'gateway']) {
      it(`${service}: check and serve refuse it in one line saying why; REGISTRY_HTTP_SECRET mends it`, async () => {
        const file = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nhttp: {addr: "127.0.0.1:0"}\nredis: {addr: "${redisAddr}"}\n`);
        const checked = await berth(['config', 'check', '--service', service, file]);
        expect(checked.code).toBe(2);
        expect(checked.stderr.trim()).toBe(secretLine(file));
        expect(await berth(['serve', '--service', service, file])).toMatchObject({ code: 2, stderr: checked.stderr });
        expect(await berth(['config', 'check', '--service', service, file], { REGISTRY_HTTP_SECRET: 'one-for-all' })).toMatchObject({
          code: 0,
          stdout: `${file}: ok\n`,
        });
      });
    }

    it('manifest and health need none, nor does the all-in-one (one process, one secret)', async () => {
      const file = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nredis: {addr: "${redisAddr}"}\n`);
      for (const args of [['--service', 'manifest'], ['--service', 'health'], []]) {
        expect(await berth(['config', 'check', ...args, file]), args.join(' ')).toMatchObject({ code: 0, stdout: `${file}: ok\n` });
      }
    });

    it('check --service also wants what serve --service wants of redis, in the same line', async () => {
      const file = await configFile('version: 0.1\nstorage: {inmemory: {}}\nhttp: {secret: s3cr3t-value}\n');
      const checked = await berth(['config', 'check', '--service', 'manifest', file]);
      expect(checked.code).toBe(2);
      expect(checked.stderr.trim()).toBe(`berth: ${file}: redis.addr: missing: services run apart (--service) talk over Redis; set redis.addr to HOST:PORT`);
      expect(await berth(['serve', '--service', 'manifest', file])).toMatchObject({ code: 2, stderr: checked.stderr });
    });
  });

  describe('storage.gcs.keyfile (read when the driver loads, on its first call)', () => {
    const gcsConfig = (keyfile: string) => configFile(`version: 0.1\nstorage: {gcs: {bucket: images, keyfile: "${keyfile}"}}\nhttp: {addr: "127.0.0.1:0"}\n`);

    it('a missing file, one that is no JSON, JSON that is no service account key: check and serve refuse each in the same line', async () => {
      const garbage = join(work.path, 'garbage.json');
      await writeFile(garbage, 'not a key\n');
      const userKey = join(work.path, 'user-key.json');
      await writeFile(userKey, JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' }));
      const missing = join(work.path, 'missing-key.json');
      const notAKey = (path: string) => `${path} is not a service account key (JSON with "type": "service_account", client_email and private_key)`;
      for (const [keyfile, problem] of [[missing, `cannot read ${missing}: ENOENT`], [garbage, notAKey(garbage)], [userKey, notAKey(userKey)]] as const) {
        const file = await gcsConfig(keyfile);
        const checked = await berth(['config', 'check', file]);
        expect(checked).toMatchObject({ code: 2, stdout: '' });
        expect(checked.stderr.trim()).toBe(`berth: ${file}: storage.gcs.keyfile: ${problem}`);
        expect(await berth(['serve', file])).toMatchObject({ code: 2, stderr: checked.stderr });
        expect(await berth(['config', 'check', '--service', 'manifest', file], { REGISTRY_REDIS_ADDR: redisAddr })).toMatchObject({ code: 2, stderr: checked.stderr });
      }
    });

    it('a service account key: ok', async () => {
      const keyfile = join(work.path, 'service-account.json');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await writeFile(keyfile, JSON.stringify({ type: 'service_account', client_email: 'berth@example.iam.gserviceaccount.com', private_key: pem }));
      const file = await gcsConfig(keyfile);
      expect(await berth(['config', 'check', file])).toMatchObject({ code: 0, stdout: `${file}: ok\n` });
    });

    it('config print does not read it: a config whose key lives on another machine prints', async () => {
      const file = await gcsConfig('/etc/elsewhere/gcs-key.json');
      const printed = await berth(['config', 'print', file]);
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      expect(printed.stdout).toContain('bucket: images');
    });
  });

  describe('http.tls', () => {
    let ca: TestCa;

    beforeAll(async () => {
      ca = await makeTestCa(work.path);
    });

    it('a good certificate, key, clientcas, minimumtls and ciphersuites: ok', async () => {
      const file = await configFile(
        `version: 0.1\nstorage: {inmemory: {}}\nhttp: {tls: {certificate: "${ca.server.certPath}", key: "${ca.server.keyPath}", clientcas: ["${ca.ca}"], minimumtls: tls1.3, ciphersuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]}}\n`,
      );
      expect(await berth(['config', 'check', file])).toMatchObject({ code: 0, stdout: `${file}: ok\n` });
    });

    it('every TLS mistake at once, in the words serve refuses them with', async () => {
      const notPem = join(work.path, 'not-pem.txt');
      await writeFile(notPem, 'hello');
      const missing = join(work.path, 'missing.crt');
      const file = await configFile(
        `version: 0.1\nstorage: {inmemory: {}}\nhttp: {tls: {certificate: "${missing}", key: "${ca.server.keyPath}", clientcas: ["${notPem}"], minimumtls: tls1.4, ciphersuites: [TLS_FOO, TLS_RSA_WITH_RC4_128_SHA]}}\n`,
      );
      const checked = await berth(['config', 'check', file]);
      expect(checked.code).toBe(2);
      expect(checked.stderr.trim().split('\n')).toEqual([
        `berth: ${file}: http.tls.certificate: cannot read ${missing}: ENOENT`,
        `${file}: http.tls.clientcas: ${notPem} holds no PEM certificate`,
        `${file}: http.tls.minimumtls: "tls1.4" is not one of tls1.0, tls1.1, tls1.2, tls1.3`,
        `${file}: http.tls.ciphersuites: unknown TLS cipher suite "TLS_FOO" (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`,
        `${file}: http.tls.ciphersuites: TLS_RSA_WITH_RC4_128_SHA is not available in this build's OpenSSL (it is insecure)`,
      ]);
      expect(await berth(['serve', file])).toMatchObject({ code: 2, stderr: checked.stderr });
    });

    it('a key that is not the certificate\'s, a missing key, letsencrypt: refused', async () => {
      const mismatched = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nhttp: {tls: {certificate: "${ca.server.certPath}", key: "${ca.client.keyPath}"}}\n`);
      const checked = await berth(['config', 'check', mismatched]);
      expect(checked.stderr).toContain(`${mismatched}: http.tls: the certificate, key or client CAs cannot be used: `);
      expect(await berth(['serve', mismatched])).toMatchObject({ code: 2, stderr: checked.stderr });
      const keyless = await configFile(`version: 0.1\nstorage: {inmemory: {}}\nhttp: {tls: {certificate: "${ca.server.certPath}", letsencrypt: {cachefile: /tmp/le}}}\n`);
      expect((await berth(['config', 'check', keyless])).stderr.trim().split('\n')).toEqual([
        `berth: ${keyless}: http.tls.letsencrypt: not served by this version of berth; use certificate and key (a certificate from any ACME client)`,
        `${keyless}: http.tls.key: missing: the private key of http.tls.certificate`,
      ]);
    });

    it('--service upload does not serve the public listener, so it does not need the files', async () => {
      const file = await configFile(
        `version: 0.1\nstorage: {inmemory: {}}\nredis: {addr: "${redisAddr}"}\nhttp: {secret: s, tls: {certificate: /nowhere.crt, key: /nowhere.key}}\n`,
      );
      expect(await berth(['config', 'check', '--service', 'upload', file])).toMatchObject({ code: 0 });
      expect((await berth(['config', 'check', '--service', 'gateway', file])).code).toBe(2);
    });
  });
});
