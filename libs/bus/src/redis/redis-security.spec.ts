import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfigFromString } from '@berth/config';
import { createTempDir, makeTestCa, PrivateRedis, type TestCa, type TempDir } from '@berth/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, redisSettingsFrom } from './redis-connection';

let work: TempDir;
let ca: TestCa;
const servers: PrivateRedis[] = [];
const connections: Redis[] = [];

beforeAll(async () => {
  work = await createTempDir('berth-redis-security-');
  ca = await makeTestCa(work.path);
});

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.disconnect();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.kill()));
  await work?.remove();
});

async function start(options: Parameters<typeof PrivateRedis.start>[0]): Promise<PrivateRedis> {
  const server = await PrivateRedis.start(options);
  servers.push(server);
  return server;
}

/** The `redis` section as YAML, through the config loader and redisSettingsFrom, as `berth serve` reads it. */
function settingsOf(redis: string) {
  return redisSettingsFrom(loadConfigFromString(`version: 0.1\nstorage: inmemory\nredis: ${redis}\nberth: {bus: {keyprefix: app}}\n`, 'config.yml', {}));
}

/** PING through a connection opened from `redis` (YAML); its answer or its error's message. */
async function ping(redis: string): Promise<string> {
  const connection = openRedis(settingsOf(redis), 'command', 'security-spec');
  connections.push(connection);
  // A refused handshake or login never gets ready: the first error says why.
  const failed = new Promise<string>((resolve) => connection.once('error', (error: Error) => resolve(`error: ${error.message}`)));
  return Promise.race([connection.ping().catch((error: Error) => `error: ${error.message}`), failed]);
}

describe('redis.password and ACL users (redis.username)', () => {
  it('requirepass: the password opens, a wrong one and none are refused', async () => {
    const server = await start({ password: 'the-default-password' });
    expect(await ping(`{addr: "${server.addr}", password: the-default-password}`)).toBe('PONG');
    expect(await ping(`{addr: "${server.addr}", password: guessed}`)).toMatch(/WRONGPASS|invalid username-password/);
    expect(await ping(`{addr: "${server.addr}"}`)).toMatch(/NOAUTH/);
  });

  it('an ACL user confined to the key prefix runs berth: every key and channel it touches starts with berth.bus.keyprefix', async () => {
    const server = await start({ password: 'admin' });
    await server.command('ACL', 'SETUSER', 'berth', 'on', '>user-secret', '~app:*', '&app:*', '+@all');
    expect(await ping(`{addr: "${server.addr}", username: berth, password: user-secret}`)).toBe('PONG');
    expect(await ping(`{addr: "${server.addr}", username: berth, password: admin}`)).toMatch(/WRONGPASS|invalid username-password/);
    const connection = openRedis(settingsOf(`{addr: "${server.addr}", username: berth, password: user-secret}`), 'command', 'security-spec');
    connections.push(connection);
    await connection.set('app:x', '1');
    await expect(connection.set('other:x', '1')).rejects.toThrow(/NOPERM/);
  });
});

describe('redis.tls', () => {
  it('with rootcas, the server is verified against the test CA; with the system CAs it is refused', async () => {
    const server = await start({ tls: { certificate: ca.server.certPath, key: ca.server.keyPath, ca: ca.ca } });
    expect(await ping(`{addr: "${server.addr}", tls: {rootcas: ["${ca.ca}"]}}`)).toBe('PONG');
    expect(await ping(`{addr: "${server.addr}", tls: {enabled: true}}`)).toMatch(/self[- ]signed|unable to (get|verify)/i);
    // The plain protocol to a TLS port gets no answer it understands.
    expect(await ping(`{addr: "${server.addr}", dialtimeout: 1s}`)).toMatch(/^error: /);
  });

  it('a server asking for client certificates takes redis.tls.certificate and key, and refuses a client without', async () => {
    const server = await start({ tls: { certificate: ca.server.certPath, key: ca.server.keyPath, ca: ca.ca, client: { certificate: ca.client.certPath, key: ca.client.keyPath } }, password: 'pw' });
    const tls = `rootcas: ["${ca.ca}"]`;
    expect(await ping(`{addr: "${server.addr}", password: pw, tls: {${tls}, certificate: "${ca.client.certPath}", key: "${ca.client.keyPath}"}}`)).toBe('PONG');
    expect(await ping(`{addr: "${server.addr}", password: pw, tls: {${tls}}}`)).toMatch(/^error: /);
  });

  it('missing, unreadable or mismatched files are refused when the settings are read (start-up), naming the key', async () => {
    const notPem = join(work.path, 'not-a-cert.pem');
    await writeFile(notPem, 'hello');
    const cases: [string, string][] = [
      [`{addr: "r:1", tls: {rootcas: ["${join(work.path, 'missing.crt')}"]}}`, `redis.tls.rootcas: cannot read ${join(work.path, 'missing.crt')}: ENOENT`],
      [`{addr: "r:1", tls: {rootcas: ["${notPem}"]}}`, `redis.tls.rootcas: ${notPem} holds no PEM certificate`],
      [`{addr: "r:1", tls: {certificate: "${ca.client.certPath}", key: "${ca.server.keyPath}"}}`, 'redis.tls: the certificate, key or CAs cannot be used'],
    ];
    for (const [redis, message] of cases) {
      expect(() => settingsOf(redis)).toThrow(ConfigError);
      expect(() => settingsOf(redis)).toThrow(message);
    }
    expect(() => settingsOf(`{addr: "r:1", tls: {certificate: "${ca.client.certPath}"}}`)).toThrow(
      'redis.tls.key: missing: a client certificate needs both redis.tls.certificate and redis.tls.key',
    );
  });
});
