import { describe, expect, it } from 'vitest';
import { detectAuthVersion, SwiftAuth, SwiftAuthError } from './swift.auth';

describe('detectAuthVersion', () => {
  it.each([
    ['http://10.0.10.216:5000/v2.0', 2],
    ['http://keystone:5000/v2.0/', 2],
    ['https://auth.cloud.ovh.net/v3', 3],
    ['https://storage.myprovider.com/v3/auth', 3],
    ['http://keystone:5000/v3/auth/tokens', 3],
    ['http://127.0.0.1:8080/auth/v1.0', 1],
    ['http://swift:8080/auth/v1', 1],
    // The host does not count, only the path.
    ['http://v3-cloud.example:8080/auth/v1.0', 1],
  ])('reads %s as v%d', (url, version) => {
    expect(detectAuthVersion(url)).toBe(version);
  });

  it('lets authversion override the URL', () => {
    expect(detectAuthVersion('http://keystone:5000/v2.0', 3)).toBe(3);
    expect(detectAuthVersion('http://keystone:5000/identity', 2)).toBe(2);
  });

  it('refuses a URL without a version and names the key that fixes it', () => {
    expect(() => detectAuthVersion('http://keystone:5000/identity')).toThrow(SwiftAuthError);
    expect(() => detectAuthVersion('http://keystone:5000/identity')).toThrow(/storage\.swift\.authversion/);
    expect(() => detectAuthVersion('http://keystone:5000/v20')).toThrow(SwiftAuthError);
  });
});

describe('SwiftAuth', () => {
  it('refuses an application credential on an auth URL that is not Keystone v3, before any request', () => {
    const params = { authurl: 'http://keystone:5000/v2.0', applicationcredentialid: 'a1', applicationcredentialsecret: 's' };
    // No request is made: the check runs in the constructor, so no HTTP client is needed.
    expect(() => new SwiftAuth(params, undefined as never)).toThrow(/application credentials exist in Keystone v3 only.*auth v2/);
  });
});
