import { describe, expect, it } from 'vitest';
import { invalidPaths } from '../test/cases/paths.cases';
import { InvalidPathError } from './errors';
import { assertValidPath, childPath, isValidPathComponent, pathComponents } from './path';

describe('assertValidPath', () => {
  it.each(['/a', '/a/b/c', '/docker/registry/v2/blobs/sha256/ab/abcd/data', '/.hidden', '/a..b', '/...', '/A-Z_a.z-0'])(
    'accepts %s',
    (path) => {
      expect(() => assertValidPath(path)).not.toThrow();
    },
  );

  it.each(Object.entries(invalidPaths('/prefix')))('refuses %s', (_rule, path) => {
    expect(() => assertValidPath(path)).toThrow(InvalidPathError);
  });

  it('refuses the root unless allowed', () => {
    expect(() => assertValidPath('/')).toThrow(InvalidPathError);
    expect(() => assertValidPath('/', { allowRoot: true })).not.toThrow();
    expect(() => assertValidPath('//', { allowRoot: true })).toThrow(InvalidPathError);
  });

  it('says why a path is refused', () => {
    expect(() => assertValidPath('/a/../b')).toThrow('".." is not allowed');
    expect(() => assertValidPath('/a/')).toThrow('must not end with "/"');
  });
});

describe('path helpers', () => {
  it('joins children onto the root and onto directories', () => {
    expect(childPath('/', 'a')).toBe('/a');
    expect(childPath('/a', 'b')).toBe('/a/b');
  });

  it('splits components', () => {
    expect(pathComponents('/')).toEqual([]);
    expect(pathComponents('/a/b')).toEqual(['a', 'b']);
  });

  it('tells valid components from private names', () => {
    expect(isValidPathComponent('data')).toBe(true);
    expect(isValidPathComponent('~1234.tmp')).toBe(false);
    expect(isValidPathComponent('..')).toBe(false);
  });
});
