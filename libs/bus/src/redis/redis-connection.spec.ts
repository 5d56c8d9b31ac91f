import { ConfigError, loadConfigFromString } from '@berth/config';
import { describe, expect, it } from 'vitest';
import { redisSettingsFrom } from './redis-connection';

function settingsOf(redis: string): ReturnType<typeof redisSettingsFrom> {
  return redisSettingsFrom(loadConfigFromString(`version: 0.1\nstorage: inmemory\n${redis}`, 'config.yml', {}));
}

describe('redisSettingsFrom', () => {
  it.each([
    ['redis.internal:6380', 'redis.internal', 6380],
    ['10.0.0.5:6379', '10.0.0.5', 6379],
    // As Go dials it: no host is this machine.
    [':6379', '127.0.0.1', 6379],
    ['[::1]:6379', '::1', 6379],
  ])('dials %s as %s port %i', (addr, host, port) => {
    expect(settingsOf(`redis: {addr: "${addr}"}\n`)).toMatchObject({ host, port, db: 0, keyPrefix: 'berth' });
  });

  it('carries the password, db, TLS, dial timeout and key prefix', () => {
    const settings = settingsOf('redis: {addr: "r:1", username: u, password: pw, db: 3, dialtimeout: 2s, tls: {enabled: true}}\nberth: {bus: {keyprefix: k}}\n');
    // TLS with the system's CAs, as Distribution 2.8's tls.enabled.
    expect(settings).toEqual({ host: 'r', port: 1, username: 'u', password: 'pw', db: 3, tls: {}, connectTimeoutMs: 2_000, keyPrefix: 'k' });
  });

  it.each(['', 'redis: {addr: ""}\n'])('without redis.addr (%j), services apart cannot run, and it says so', (redis) => {
    expect(() => settingsOf(redis)).toThrow(ConfigError);
    expect(() => settingsOf(redis)).toThrow('redis.addr: missing: services run apart (--service) talk over Redis; set redis.addr to HOST:PORT');
  });

  it('a malformed redis.addr never gets this far: the config refuses it', () => {
    expect(() => settingsOf('redis: {addr: "redis:port"}\n')).toThrow('config.yml: redis.addr: "redis:port" is not HOST:PORT (e.g. localhost:6379)');
  });
});
