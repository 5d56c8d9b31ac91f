import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import type { SecureVersion } from 'node:tls';
import { promisify } from 'node:util';
import {
  type BerthProcess,
  createTempDir,
  filesystemRegistryConfig,
  freePort,
  makeTestCa,
  SkopeoError,
  skopeoCopy,
  skopeoRef,
  startBerth,
  type TempDir,
  type TestCa,
  writeOciImageLayout,
} from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBack } from './image-layouts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const cleanups: (() => Promise<unknown>)[] = [];

interface Handshake {
  status?: number;
  protocol?: string | null;
  cipher?: string;
  error?: string;
}

/** One `GET /v2/` over TLS from Node, trusting the test CA, with the given client settings. */
function handshake(url: string, ca: TestCa, options: { maxVersion?: SecureVersion; minVersion?: SecureVersion; ciphers?: string } = {}): Promise<Handshake> {
  return readFile(ca.ca).then(
    (caPem) =>
      new Promise<Handshake>((resolve) => {
        const req = request(
          `${url}/v2/`,
          {
            ca: caPem,
            agent: false,
            ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
            ...(options.minVersion ? { minVersion: options.minVersion } : {}),
            ...(options.ciphers ? { ciphers: options.ciphers } : {}),
          },
          (res) => {
            res.resume();
            const socket = res.socket as import('node:tls').TLSSocket;
            resolve({ status: res.statusCode ?? 0, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
          },
        );
        req.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
        req.end();
      }),
  );
}

async function withClientCert(url: string, ca: TestCa): Promise<Handshake> {
  const [caPem, cert, key] = await Promise.all([readFile(ca.ca), readFile(ca.client.certPath), readFile(ca.client.keyPath)]);
  return new Promise((resolve) => {
    const req = request(`${url}/v2/`, { ca: caPem, cert, key, agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

/** podman as root on vfs, with storage of this test's own. */
function podman(work: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('podman', ['--root', `${work}/podman/root`, '--runroot', `${work}/podman/run`, '--storage-driver', 'vfs', ...args], { maxBuffer: 16 * MiB });
}

describe('http.tls: berth serves TLS with a certificate from a CA made here', () => {
  let work: TempDir;
  let ca: TestCa;
  let berth: BerthProcess;
  let mutual: BerthProcess;

  beforeAll(async () => {
    work = await createTempDir('berth-tls-');
    ca = await makeTestCa(work.path);
    const tls = { certificate: ca.server.certPath, key: ca.server.keyPath };
    const plain = filesystemRegistryConfig({ rootDirectory: `${work.path}/registry`, port: await freePort() });
    berth = await startBerth({ config: { ...plain, http: { ...(plain.http as object), tls: { ...tls, minimumtls: 'tls1.2' } } } });
    const second = filesystemRegistryConfig({ rootDirectory: `${work.path}/registry-mutual`, port: await freePort() });
    mutual = await startBerth({ config: { ...second, http: { ...(second.http as object), tls: { ...tls, clientcas: [ca.ca] } } } });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
    await mutual?.stop();
    for (const cleanup of cleanups) await cleanup();
    await work?.remove();
  });

  it('skopeo pushes and pulls over TLS, verifying the server against the CA (--dest-cert-dir)', async () => {
    expect(berth.url).toMatch(/^https:/);
    const source = `${work.path}/image`;
    const image = await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 2 * MiB }, { size: 10 }] });
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(berth.url, 'tls/app', 'v1'), { preserveDigests: true, certDir: ca.trustOnlyDir });
    const out = `${work.path}/image-out`;
    await skopeoCopy(skopeoRef.registry(berth.url, 'tls/app', 'v1'), skopeoRef.oci(out, 'v1'), { preserveDigests: true, certDir: ca.trustOnlyDir });
    const digests = [image.config.digest, ...image.layers.map((layer) => layer.digest)];
    expect(await readBack(out, 'v1', digests)).toEqual({ manifest: image.manifest.digest, blobs: digests });
  });

  it('skopeo without the CA refuses the server (its certificate is not trusted)', async () => {
    const source = `${work.path}/image-untrusted`;
    await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 10 }] });
    const host = new URL(berth.url).host;
    const error = await run('skopeo', ['copy', '--dest-tls-verify=true', skopeoRef.oci(source, 'v1'), `docker://${host}/tls/untrusted:v1`]).catch((caught: { stderr: string }) => caught);
    expect((error as { stderr?: string }).stderr).toMatch(/certificate signed by unknown authority|x509/);
  });

  it('podman pushes and pulls over TLS with --cert-dir', async () => {
    // podman names an image pulled from a layout after its path, which must be lower-case.
    const source = join(tmpdir(), `berth-tls-podman-${randomBytes(4).toString('hex')}`);
    cleanups.push(() => rm(source, { recursive: true, force: true }));
    await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: MiB }] });
    const host = new URL(berth.url).host;
    await podman(work.path, 'pull', '-q', `oci:${source}:v1`);
    const local = (await podman(work.path, 'images', '-q')).stdout.trim().split('\n')[0]!;
    await podman(work.path, 'push', '-q', '--cert-dir', ca.trustOnlyDir, local, `${host}/tls/podman:v1`);
    await podman(work.path, 'rmi', '-a', '-f');
    await podman(work.path, 'pull', '-q', '--cert-dir', ca.trustOnlyDir, `${host}/tls/podman:v1`);
    expect((await podman(work.path, 'images', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toContain(`${host}/tls/podman:v1`);
  });

  it('negotiates TLS 1.3 by default; a TLS 1.1 client is refused (minimumtls tls1.2)', async () => {
    expect(await handshake(berth.url, ca)).toMatchObject({ status: 200, protocol: 'TLSv1.3' });
    expect(await handshake(berth.url, ca, { maxVersion: 'TLSv1.2' })).toMatchObject({ status: 200, protocol: 'TLSv1.2' });
    const old = await handshake(berth.url, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    expect(old.error).toBeDefined();
  });

  it('clientcas: a client without a certificate signed by those CAs is refused; with one it is served', async () => {
    const without = await handshake(mutual.url, ca);
    expect(without.status).toBeUndefined();
    expect(without.error).toMatch(/CERTIFICATE_REQUIRED|ECONNRESET|HANDSHAKE/);
    expect(await withClientCert(mutual.url, ca)).toEqual({ status: 200 });

    const source = `${work.path}/image-mutual`;
    await writeOciImageLayout(source, { tag: 'v1', layers: [{ size: 100 }] });
    const refused = await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(mutual.url, 'tls/mutual', 'v1'), { certDir: ca.trustOnlyDir }).catch(
      (caught: unknown) => caught,
    );
    expect(refused).toBeInstanceOf(SkopeoError);
    expect((refused as SkopeoError).stderr).toMatch(/certificate required|bad certificate|handshake|connection reset/i);
    await skopeoCopy(skopeoRef.oci(source, 'v1'), skopeoRef.registry(mutual.url, 'tls/mutual', 'v1'), { certDir: ca.certDir });
  });
});
