import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Key types a test certificate can have, as openssl's `-newkey` takes them. */
export type TestKeyType = 'rsa' | 'ec256' | 'ec384' | 'ec521' | 'ed25519';

export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  /** The DER in standard base64: an `x5c` entry. */
  readonly x5c: string;
}

const newKey: Record<TestKeyType, string[]> = {
  rsa: ['-newkey', 'rsa:2048'],
  ec256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ec384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ec521: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  ed25519: ['-newkey', 'ed25519'],
};

/**
 * A certificate made at test time with the real openssl: self-signed (a CA) without `issuer`,
 * else signed by `issuer` (a CA itself when `ca`). Files `<name>.crt` and `<name>.key` in `dir`.
 */
export function makeTestCertificate(
  dir: string,
  name: string,
  options: { keyType?: TestKeyType; issuer?: TestCertificate; ca?: boolean; days?: number; hosts?: string[] } = {},
): TestCertificate {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const days = String(options.days ?? 2);
  const key = newKey[options.keyType ?? 'rsa'];
  const subject = ['-subj', `/CN=${name}`];
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const extensions = join(dir, `${name}.ext`);
  const lines = [options.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE'];
  if (options.hosts) lines.push(`subjectAltName=${options.hosts.map((host) => (/^[\d.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',')}`);
  writeFileSync(extensions, `${lines.join('\n')}\n`);
  if (options.issuer === undefined) {
    openssl(['req', '-x509', ...key, '-nodes', '-keyout', keyPath, '-out', certPath, ...subject, '-days', days, '-addext', 'basicConstraints=critical,CA:TRUE']);
  } else {
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', ...key, '-nodes', '-keyout', keyPath, '-out', csr, ...subject]);
    openssl(['x509', '-req', '-in', csr, '-CA', options.issuer.certPath, '-CAkey', options.issuer.keyPath, '-CAcreateserial', '-out', certPath, '-days', days, '-extfile', extensions]);
  }
  const certPem = readFileSync(certPath, 'utf8');
  const certificate = new X509Certificate(certPem);
  return { certPath, keyPath, certPem, privateKey: createPrivateKey(readFileSync(keyPath)), certificate, x5c: certificate.raw.toString('base64') };
}
