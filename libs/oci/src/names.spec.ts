import { describe, expect, it } from 'vitest';
import { OciError } from './errors/oci-error';
import { checkRepositoryName, isValidRepositoryName, isValidTag, parseReference, parseRepositoryName, parseTag } from './names';

const SHA256 = 'sha256:' + 'a'.repeat(64);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof OciError ? error.code : 'not an OciError';
  }
  return undefined;
}

describe('repository names', () => {
  it.each([
    'a',
    'library/ubuntu',
    'a/b/c/d/e',
    'foo.bar',
    'foo_bar',
    'foo__bar',
    'foo-bar',
    'foo---bar',
    'a1/b2.c3_d4__e5-f6',
    '0',
  ])('accepts %s', (name) => {
    expect(isValidRepositoryName(name)).toBe(true);
    expect(parseRepositoryName(name)).toBe(name);
  });

  it.each([
    ['empty', ''],
    ['parent directory', '..'],
    ['parent component', 'foo/../bar'],
    ['leading parent', '../foo'],
    ['current directory', 'foo/./bar'],
    ['single dot', '.'],
    ['percent-encoded parent', '%2e%2e/foo'],
    ['percent-encoded slash', 'foo%2fbar'],
    ['empty component', 'foo//bar'],
    ['leading slash', '/foo'],
    ['trailing slash', 'foo/'],
    ['upper case', 'Foo/bar'],
    ['upper case later', 'foo/Bar'],
    ['triple underscore', 'foo___bar'],
    ['separator at the start', '-foo'],
    ['separator at the end', 'foo.'],
    ['two dots', 'foo..bar'],
    ['dot then dash', 'foo.-bar'],
    ['backslash', 'foo\\bar'],
    ['space', 'foo bar'],
    ['colon', 'localhost:5000/foo'],
    ['NUL', 'foo\u0000bar'],
    ['non-ASCII', 'fóo'],
  ])('refuses %s', (_why, name) => {
    expect(isValidRepositoryName(name)).toBe(false);
    expect(codeOf(() => parseRepositoryName(name))).toBe('NAME_INVALID');
  });

  it('caps the length at 255 characters, as the reference does', () => {
    const at255 = 'a'.repeat(127) + '/' + 'b'.repeat(127);
    expect(at255).toHaveLength(255);
    expect(isValidRepositoryName(at255)).toBe(true);
    expect(isValidRepositoryName(at255 + 'c')).toBe(false);
    expect(checkRepositoryName(at255 + 'c')).toEqual({ ok: false, problem: expect.stringContaining('255') });
  });

  it('says which rule a name broke', () => {
    expect(checkRepositoryName('foo//bar')).toEqual({ ok: false, problem: expect.stringContaining('empty path component') });
    expect(checkRepositoryName('Foo')).toEqual({ ok: false, problem: expect.stringContaining('upper-case') });
    expect(checkRepositoryName('')).toEqual({ ok: false, problem: expect.stringContaining('empty') });
  });

  it('answers NAME_INVALID with a 400 whose detail names the input and the reason', () => {
    try {
      parseRepositoryName('foo/../bar');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OciError);
      const oci = error as OciError;
      expect(oci.status).toBe(400);
      expect(oci.toJSON()).toEqual({
        code: 'NAME_INVALID',
        message: 'invalid repository name',
        detail: { name: 'foo/../bar', reason: expect.any(String) },
      });
    }
  });

  it('stays fast on long adversarial input', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) isValidRepositoryName('a-'.repeat(127) + '!');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('tags', () => {
  it.each(['latest', 'v1.2.3', '_private', 'A', 'x'.repeat(128), '1.0-rc_1', 'sha256-' + 'a'.repeat(64)])(
    'accepts %s',
    (tag) => {
      expect(isValidTag(tag)).toBe(true);
      expect(parseTag(tag)).toBe(tag);
    },
  );

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['parent directory', '..'],
    ['current directory', '.'],
    ['leading dot', '.hidden'],
    ['leading dash', '-v1'],
    ['slash', 'a/b'],
    ['traversal', '../etc'],
    ['percent-encoded', '%2e%2e'],
    ['colon', 'a:b'],
    ['plus', 'v1+build'],
  ])('refuses %s', (_why, tag) => {
    expect(isValidTag(tag)).toBe(false);
    expect(codeOf(() => parseTag(tag))).toBe('TAG_INVALID');
  });
});

describe('parseReference', () => {
  it('reads a tag', () => {
    expect(parseReference('latest')).toEqual({ kind: 'tag', tag: 'latest' });
  });

  it('reads a digest', () => {
    expect(parseReference(SHA256)).toEqual({ kind: 'digest', digest: SHA256 });
  });

  it('takes anything with a colon for a digest, so a bad one is DIGEST_INVALID', () => {
    expect(codeOf(() => parseReference('sha256:abc'))).toBe('DIGEST_INVALID');
    expect(codeOf(() => parseReference('latest:x'))).toBe('DIGEST_INVALID');
  });

  it('refuses a bad tag with TAG_INVALID', () => {
    expect(codeOf(() => parseReference('..'))).toBe('TAG_INVALID');
    expect(codeOf(() => parseReference(''))).toBe('TAG_INVALID');
  });
});
