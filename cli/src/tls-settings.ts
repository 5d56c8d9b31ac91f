import { readFileSync } from 'node:fs';
import { createSecureContext, getCiphers, type SecureVersion, type TlsOptions } from 'node:tls';
import type { BerthConfig, ConfigProblem } from '@berth/config';

/** `http.tls.minimumtls` values, as the reference names them (registry/registry.go tlsVersions). */
const versions: Record<string, SecureVersion> = { 'tls1.0': 'TLSv1', 'tls1.1': 'TLSv1.1', 'tls1.2': 'TLSv1.2', 'tls1.3': 'TLSv1.3' };

/**
 * `http.tls.ciphersuites` names (Go's constants, the reference's list) → OpenSSL's names. TLS 1.3
 * suites are listed so the reference's files load, but as in Go they are always all enabled.
 */
const cipherSuites: Record<string, string> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};
const tls13Suites = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384'];
/** The reference's defaultCipherSuites (TLS 1.2 part): ECDHE with AEAD only. */
const defaultSuites = [
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
];

/**
 * The public listener's TLS settings from `http.tls`, files read and checked now, or the
 * problems that refuse start-up (the same for `serve` and `config check`). Undefined when TLS is
 * off: as in the reference, TLS is on when `certificate` is set.
 */
export function tlsSettingsOf(config: BerthConfig, source: string): { options?: TlsOptions; problems: ConfigProblem[] } {
  const tls = config.http.tls;
  const problems: ConfigProblem[] = [];
  const refuse = (key: string, message: string) => problems.push({ source, key: `http.tls${key}`, message });
  if (tls === undefined) return { problems };
  if (tls.letsencrypt !== undefined) refuse('.letsencrypt', 'not served by this version of berth; use certificate and key (a certificate from any ACME client)');
  if (tls.certificate === undefined || tls.certificate === '') {
    if (tls.key !== undefined || tls.clientcas !== undefined) refuse('.certificate', 'missing: TLS needs certificate and key (without a certificate the reference serves plain HTTP: remove the tls section for that)');
    return { problems };
  }
  const read = (key: string, file: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch (error) {
      refuse(key, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return undefined;
    }
  };
  const cert = read('.certificate', tls.certificate);
  const key = tls.key === undefined || tls.key === '' ? (refuse('.key', 'missing: the private key of http.tls.certificate'), undefined) : read('.key', tls.key);
  const ca: Buffer[] = [];
  for (const file of tls.clientcas ?? []) {
    const pem = read('.clientcas', file);
    if (pem === undefined) continue;
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) refuse('.clientcas', `${file} holds no PEM certificate`);
    else ca.push(pem);
  }
  const minVersion = versions[tls.minimumtls ?? 'tls1.2'];
  if (minVersion === undefined) refuse('.minimumtls', `${JSON.stringify(tls.minimumtls)} is not one of ${Object.keys(versions).join(', ')}`);
  const names = tls.ciphersuites?.length ? tls.ciphersuites : defaultSuites;
  const available = new Set(getCiphers().map((name) => name.toUpperCase()));
  const ciphers: string[] = [];
  for (const name of names) {
    const openssl = cipherSuites[name];
    if (openssl === undefined) refuse('.ciphersuites', `unknown TLS cipher suite ${JSON.stringify(name)} (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
    else if (!available.has(openssl)) refuse('.ciphersuites', `${name} is not available in this build's OpenSSL (it is insecure)`);
    else if (!tls13Suites.includes(openssl)) ciphers.push(openssl);
  }
  if (problems.length > 0 || cert === undefined || key === undefined) return { problems };
  const options: TlsOptions = {
    cert,
    key,
    minVersion: minVersion!,
    // Go always offers its TLS 1.3 suites; the list names those of TLS 1.2 and below.
    ciphers: [...ciphers, ...tls13Suites].join(':'),
    honorCipherOrder: true,
    ...(ca.length > 0 ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
  };
  try {
    createSecureContext(options);
  } catch (error) {
    refuse('', `the certificate, key or client CAs cannot be used: ${(error as Error).message}`);
    return { problems };
  }
  return { options, problems };
}

