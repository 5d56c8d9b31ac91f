import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestCertificate, type TestCertificate } from './test-pki';

/** A certificate authority made for one test run, and what it signed, for TLS listeners and clients. */
export interface TestCa {
  /** The CA's certificate (PEM file): what clients trust. */
  readonly ca: string;
  /** A server certificate for `localhost` and `127.0.0.1`. */
  readonly server: TestCertificate;
  /** A client certificate (CN `client`), for mutual TLS. */
  readonly client: TestCertificate;
  /** A `--cert-dir` for skopeo and podman that trusts the CA and holds the client pair (`ca.crt`, `client.cert`, `client.key`). */
  readonly certDir: string;
  /** A `--cert-dir` that trusts the CA and holds no client certificate. */
  readonly trustOnlyDir: string;
}

/**
 * A CA in `dir` (openssl, through makeTestCertificate), a server and a client certificate it
 * signs, and two folders laid out as containers/image reads a `--cert-dir` (`*.crt` CAs,
 * `*.cert` + `*.key` client pairs; a key without its `.cert` is an error there, hence folders
 * of their own).
 */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const authority = makeTestCertificate(dir, 'ca', { ca: true });
  const server = makeTestCertificate(dir, 'server', { issuer: authority, hosts: ['localhost', '127.0.0.1'] });
  const client = makeTestCertificate(dir, 'client', { issuer: authority });
  const certDir = join(dir, 'client-certs');
  const trustOnlyDir = join(dir, 'trust-only');
  for (const folder of [certDir, trustOnlyDir]) {
    await mkdir(folder);
    await copyFile(authority.certPath, join(folder, 'ca.crt'));
  }
  await copyFile(client.certPath, join(certDir, 'client.cert'));
  await copyFile(client.keyPath, join(certDir, 'client.key'));
  return { ca: authority.certPath, server, client, certDir, trustOnlyDir };
}
