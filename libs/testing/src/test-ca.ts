import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM files. */
export interface TestCertificate {
  readonly certificate: string;
  readonly key: string;
}

/** A certificate authority made for one test run, and what it signed. */
export interface TestCa {
  /** The CA's certificate (PEM file): what clients trust. */
  readonly ca: string;
  /** A server certificate for `localhost`, `127.0.0.1` and `::1`. */
  readonly server: TestCertificate;
  /** A client certificate (CN `berth-test-client`), for mutual TLS. */
  readonly client: TestCertificate;
  /** A `--cert-dir` for skopeo and podman that trusts the CA and holds the client pair (`ca.crt`, `client.cert`, `client.key`). */
  readonly certDir: string;
  /** A `--cert-dir` that trusts the CA and holds no client certificate. */
  readonly trustOnlyDir: string;
  /** Signs one more certificate with this CA (`kind`: server or client). */
  issue(name: string, kind: 'server' | 'client', curve?: 'rsa' | 'ec'): Promise<TestCertificate>;
}

/**
 * Makes a CA in `dir` with openssl, then a server and a client certificate it signs, and two
 * folders laid out as containers/image reads a `--cert-dir` (`*.crt` CAs, `*.cert`+`*.key`
 * client pairs; a key without its `.cert` is an error there, hence folders of their own).
 */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=berth test CA', '-keyout', caKey, '-out', ca]);
  const issue = async (name: string, kind: 'server' | 'client', curve: 'rsa' | 'ec' = 'rsa'): Promise<TestCertificate> => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const certificate = join(dir, `${name}.${kind === 'client' ? 'cert' : 'crt'}`);
    const ext = join(dir, `${name}.ext`);
    const keyArgs = curve === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    await run('openssl', ['req', ...keyArgs, '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
    await writeFile(
      ext,
      kind === 'server'
        ? 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n'
        : 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
    );
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', certificate]);
    return { certificate, key };
  };
  const server = await issue('server', 'server');
  const client = await issue('client', 'client');
  const certDir = join(dir, 'client-certs');
  const trustOnlyDir = join(dir, 'trust-only');
  for (const folder of [certDir, trustOnlyDir]) {
    await mkdir(folder);
    await copyFile(ca, join(folder, 'ca.crt'));
  }
  await copyFile(client.certificate, join(certDir, 'client.cert'));
  await copyFile(client.key, join(certDir, 'client.key'));
  return { ca, server, client, certDir, trustOnlyDir, issue };
}
