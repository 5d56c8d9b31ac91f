import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginThrottle } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { createTempDir, htpasswdLine, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRecord } from '../access';
import { FailedLogins } from '../failed-logins';
import { basicCredentials, HtpasswdAccessController } from './htpasswd-access-controller';
import { parseHtpasswd } from './htpasswd-file';

const pull: AccessRecord[] = [{ type: 'repository', name: 'team/app', action: 'pull' }];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const request = (authorization?: string) => ({ authorization, clientAddress: '192.0.2.7', host: undefined, forwardedProto: undefined });

/** A throttle that records what it is told (a real in-memory one lives in @berth/bus; this one counts calls). */
class RecordingThrottle implements LoginThrottle {
  readonly failures: string[][] = [];
  blocked = 0;
  async blockedFor(): Promise<number> {
    return this.blocked;
  }
  async failed(keys: readonly string[]): Promise<number> {
    this.failures.push([...keys]);
    return this.failures.length;
  }
  async succeeded(): Promise<void> {}
}

describe('parseHtpasswd', () => {
  const hash = '$2y$05$' + 'a'.repeat(53);
  it('takes bcrypt lines ($2y$, $2a$, $2b$), skips blanks and comments, the last duplicate wins', () => {
    const entries = parseHtpasswd(`# team\n\n  alice:${hash}  \nbob:${hash.replace('2y', '2a')}\nalice:${hash.replace('2y', '2b')}\n`, 'f');
    expect([...entries.keys()]).toEqual(['alice', 'bob']);
    expect(entries.get('alice')).toMatch(/^\$2b\$/);
  });

  it.each([
    ['alice:$apr1$Kx2.s1Zq$4JxQbZkH2J3C8QeGkE8GX/', 'f line 1: the entry of "alice" is not a bcrypt hash; only bcrypt ($2y$, $2a$, $2b$) is accepted: make it with htpasswd -B'],
    ['alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'f line 1: the entry of "alice" is not a bcrypt hash'],
    ['alice:plain', 'f line 1: the entry of "alice" is not a bcrypt hash'],
    ['no-colon-here', 'f line 1: expected user:hash'],
    [`alice:$2y$03$${'a'.repeat(53)}`, 'f line 1: the bcrypt cost of "alice" is 03, outside 4-31'],
  ])('refuses %s, never quoting the hash', (line, message) => {
    expect(() => parseHtpasswd(line, 'f')).toThrow(message);
    try {
      parseHtpasswd(line, 'f');
    } catch (error) {
      expect((error as Error).message).not.toContain(line.slice(line.indexOf(':') + 1) || '\0');
    }
  });

  it('reads Basic credentials, the scheme in any case, the password holding colons', () => {
    expect(basicCredentials(basic('alice', 'a:b:c'))).toEqual({ user: 'alice', password: 'a:b:c' });
    expect(basicCredentials(`bAsIc ${Buffer.from('u:p').toString('base64')}`)).toEqual({ user: 'u', password: 'p' });
    expect(basicCredentials('Bearer abc')).toBeUndefined();
    expect(basicCredentials(undefined)).toBeUndefined();
  });
});

describe('HtpasswdAccessController', () => {
  let dir: TempDir;
  let path: string;

  beforeAll(async () => {
    dir = await createTempDir('berth-htpasswd-');
    path = join(dir.path, 'htpasswd');
    writeFileSync(path, `${htpasswdLine('alice', 'pw-alice', 6)}\n`);
  });
  afterAll(async () => dir?.remove());

  const challenge = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OciError);
    return error as OciError;
  };

  it('401 with the Basic challenge and the access asked for; the user on success; failures counted per user and address', async () => {
    const throttle = new RecordingThrottle();
    const controller = new HtpasswdAccessController({ realm: 'r e a l m', path }, new FailedLogins(throttle, 0));
    const missing = await challenge(controller.authorize(request(), pull));
    expect(missing.status).toBe(401);
    expect(missing.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="r e a l m"' });
    expect(missing.toJSON()).toEqual({ code: 'UNAUTHORIZED', message: 'authentication required', detail: [{ Type: 'repository', Class: '', Name: 'team/app', Action: 'pull' }] });
    expect(throttle.failures).toEqual([]);
    const wrong = await challenge(controller.authorize(request(basic('alice', 'nope')), pull));
    expect(JSON.stringify(wrong.toJSON())).not.toContain('nope');
    await challenge(controller.authorize(request(basic('mallory', 'pw-alice')), pull));
    expect(throttle.failures).toEqual([['user:alice', 'addr:192.0.2.7'], ['user:mallory', 'addr:192.0.2.7']]);
    await expect(controller.authorize(request(basic('alice', 'pw-alice')), pull)).resolves.toEqual({ user: 'alice' });
  });

  it('a remembered password passes even while the user is blocked; an unremembered one gets 429', async () => {
    const throttle = new RecordingThrottle();
    const controller = new HtpasswdAccessController({ realm: 'r', path }, new FailedLogins(throttle, 0));
    await controller.authorize(request(basic('alice', 'pw-alice')), pull);
    throttle.blocked = 30_000;
    await expect(controller.authorize(request(basic('alice', 'pw-alice')), pull)).resolves.toEqual({ user: 'alice' });
    const refused = await challenge(controller.authorize(request(basic('alice', 'guess')), pull));
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('TOOMANYREQUESTS');
    expect(refused.headers).toEqual({ 'Retry-After': '30' });
  });

  it('forgets what it remembered when the file changes; a broken file refuses everyone until mended', async () => {
    const controller = new HtpasswdAccessController({ realm: 'r', path }, new FailedLogins(new RecordingThrottle(), 0));
    await controller.authorize(request(basic('alice', 'pw-alice')), pull);
    writeFileSync(path, `${htpasswdLine('alice', 'new-pw', 6)}\n`);
    await sleep(1_100);
    expect((await challenge(controller.authorize(request(basic('alice', 'pw-alice')), pull))).status).toBe(401);
    await expect(controller.authorize(request(basic('alice', 'new-pw')), pull)).resolves.toEqual({ user: 'alice' });
    writeFileSync(path, 'alice:plain\n');
    await sleep(1_100);
    expect((await challenge(controller.authorize(request(basic('alice', 'new-pw')), pull))).status).toBe(401);
    writeFileSync(path, `${htpasswdLine('alice', 'pw-alice', 6)}\n`);
    await sleep(1_100);
    await expect(controller.authorize(request(basic('alice', 'pw-alice')), pull)).resolves.toEqual({ user: 'alice' });
  });
});
