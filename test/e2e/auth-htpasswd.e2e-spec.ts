import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTempDir, htpasswdLine, type TempDir } from '@berth/testing';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

const realm = 'berth-e2e';
const unauthorized = (detail: unknown) => ({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }] });

function expectChallenge(res: Response, detail: unknown): void {
  expect(res.status, res.text).toBe(401);
  expect(res.headers['www-authenticate']).toBe(`Basic realm="${realm}"`);
  expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
  expect(JSON.parse(res.text)).toEqual(unauthorized(detail));
}

/** Polls `check` (the file is looked at once a second at most) until it passes or 10 s went by. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

describe('auth.htpasswd', () => {
  let work: TempDir;
  let registry: RegistryUnderTest;
  let htpasswd: string;

  beforeAll(async () => {
    work = await createTempDir('berth-htpasswd-');
    htpasswd = join(work.path, 'htpasswd');
    await writeFile(htpasswd, `# the team\n${htpasswdLine('alice', 'alice-pw')}\n`);
    registry = await startRegistryUnderTest({ auth: { htpasswd: { realm, path: htpasswd } } });
  });

  afterAll(async () => {
    await registry?.stop();
    await work?.remove();
  });

  it('/v2/ without credentials: 401, the Basic challenge, detail null (clients collect challenges here)', async () => {
    expectChallenge(await http(registry.url).get('/v2/'), null);
  });

  it('a wrong password and an unknown user get the same answer, naming the access asked for', async () => {
    const detail = [{ Type: 'repository', Class: '', Name: 'team/app', Action: 'pull' }];
    expectChallenge(await http(registry.url).get('/v2/team/app/tags/list').auth('alice', 'wrong'), detail);
    expectChallenge(await http(registry.url).get('/v2/team/app/tags/list').auth('nobody', 'alice-pw'), detail);
    const push = await http(registry.url).post('/v2/team/app/blobs/uploads/').auth('alice', 'wrong');
    expectChallenge(push, [
      { Type: 'repository', Class: '', Name: 'team/app', Action: 'pull' },
      { Type: 'repository', Class: '', Name: 'team/app', Action: 'push' },
    ]);
    expect(push.text).not.toContain('wrong');
  });

  it('the right password: /v2/ answers 200, a push session starts, again and again (remembered, not re-hashed)', async () => {
    for (let i = 0; i < 3; i++) expect((await http(registry.url).get('/v2/').auth('alice', 'alice-pw')).status).toBe(200);
    const started = await http(registry.url).post('/v2/team/app/blobs/uploads/').auth('alice', 'alice-pw');
    expect(started.status, started.text).toBe(202);
  });

  it('the file is re-read when it changes: a user added logs in, a user removed is refused, without a restart', async () => {
    await appendFile(htpasswd, `${htpasswdLine('bob', 'bob-pw')}\n`);
    await eventually(async () => expect((await http(registry.url).get('/v2/').auth('bob', 'bob-pw')).status).toBe(200));
    await writeFile(htpasswd, `${htpasswdLine('bob', 'bob-pw')}\n`);
    await eventually(async () => expectChallenge(await http(registry.url).get('/v2/').auth('alice', 'alice-pw'), null));
    expect((await http(registry.url).get('/v2/').auth('bob', 'bob-pw')).status).toBe(200);
  });
});

describe('auth.htpasswd: failed logins', () => {
  let work: TempDir;
  let registry: RegistryUnderTest;

  beforeAll(async () => {
    work = await createTempDir('berth-htpasswd-');
    const htpasswd = join(work.path, 'htpasswd');
    await writeFile(htpasswd, `${htpasswdLine('carol', 'carol-pw')}\n`);
    registry = await startRegistryUnderTest({
      auth: { htpasswd: { realm, path: htpasswd } },
      berth: { failedlogins: { limit: 3, window: '4s', delay: '0s' } },
    });
  });

  afterAll(async () => {
    await registry?.stop();
    await work?.remove();
  });

  beyondReference(
    'the reference counts no failed login: every guess gets its bcrypt run and a 401',
    /expected 200 to be 429/,
    'past the limit a user and an address are answered 429 TOOMANYREQUESTS, even with the right password, until the window ends',
    async () => {
      for (let i = 0; i < 3; i++) expect((await http(registry.url).get('/v2/').auth('carol', `guess-${i}`)).status).toBe(401);
      const refused = await http(registry.url).get('/v2/').auth('carol', 'carol-pw');
      expect(refused.status, refused.text).toBe(429);
      expect(JSON.parse(refused.text).errors[0].code).toBe('TOOMANYREQUESTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.text).not.toContain('carol-pw');
      await sleep(4_500);
      expect((await http(registry.url).get('/v2/').auth('carol', 'carol-pw')).status).toBe(200);
    },
  );
});
