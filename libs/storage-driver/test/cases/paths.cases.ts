import { describe, expect, it } from 'vitest';
import { InvalidPathError } from '../../src/errors';
import type { StorageDriver } from '../../src/storage-driver';
import { collectWalk, type SuiteContext } from '../suite-context';

/** Paths every driver refuses, each with the grammar rule it breaks. */
export function invalidPaths(prefix: string): Record<string, string> {
  return {
    empty: '',
    relative: 'relative/file',
    'relative single name': 'file',
    'parent component': `${prefix}/a/../b`,
    'parent at the end': `${prefix}/..`,
    'dot component': `${prefix}/./b`,
    'double slash': `${prefix}//b`,
    'leading double slash': `/${prefix}`,
    'trailing slash': `${prefix}/b/`,
    space: `${prefix}/a b`,
    'question mark': `${prefix}/a?b`,
    colon: `${prefix}/sha256:abc`,
    backslash: `${prefix}/a\\b`,
    'NUL byte': `${prefix}/a\u0000b`,
    'non-ASCII letter': `${prefix}/caf\u00e9`,
    newline: `${prefix}/a\nb`,
  };
}

type Call = (driver: StorageDriver, path: string, valid: string) => Promise<unknown>;

/** Every method that takes a path, with the path in each position it can take. */
const calls: Record<string, Call> = {
  getContent: (driver, path) => driver.getContent(path),
  putContent: (driver, path) => driver.putContent(path, Buffer.from('x')),
  reader: (driver, path) => driver.reader(path),
  writer: (driver, path) => driver.writer(path),
  stat: (driver, path) => driver.stat(path),
  list: (driver, path) => driver.list(path),
  'move (source)': (driver, path, valid) => driver.move(path, valid),
  'move (dest)': (driver, path, valid) => driver.move(valid, path),
  delete: (driver, path) => driver.delete(path),
  redirectUrl: (driver, path) => driver.redirectUrl(path, 'GET'),
  walk: (driver, path) => collectWalk(driver.walk(path)),
};

export function pathCases(suite: SuiteContext): void {
  describe('paths', () => {
    it.each(Object.keys(calls))('%s refuses every path outside the grammar with InvalidPathError', async (method) => {
      const call = calls[method]!;
      const valid = suite.path('valid');
      await suite.driver.putContent(valid, Buffer.from('stays'));
      for (const [rule, path] of Object.entries(invalidPaths(suite.prefix))) {
        await expect(call(suite.driver, path, valid), `${method} with ${rule} (${JSON.stringify(path)})`).rejects.toBeInstanceOf(
          InvalidPathError,
        );
      }
      // Nothing an invalid call did reached the valid file either.
      expect((await suite.driver.getContent(valid)).toString()).toBe('stays');
    });

    it.each(['getContent', 'putContent', 'reader', 'writer', 'move (source)', 'move (dest)', 'delete', 'redirectUrl'])(
      '%s refuses the root "/", which is no file',
      async (method) => {
        const valid = suite.path('valid');
        await suite.driver.putContent(valid, Buffer.from('stays'));
        await expect(calls[method]!(suite.driver, '/', valid)).rejects.toBeInstanceOf(InvalidPathError);
        expect((await suite.driver.getContent(valid)).toString()).toBe('stays');
      },
    );

    it('accepts the root "/" for stat, list and walk', async () => {
      await suite.driver.putContent(suite.path('file'), Buffer.from('x'));
      expect((await suite.driver.stat('/')).isDir).toBe(true);
      expect(await suite.driver.list('/')).toContain(suite.prefix);
      // The root of a shared backend may be large: stop at the first entry of this test.
      let found = false;
      for await (const info of suite.driver.walk('/')) {
        if (info.path === suite.prefix) {
          found = true;
          break;
        }
      }
      expect(found).toBe(true);
    });

    it('accepts every character of the grammar, names starting with dots included', async () => {
      const names = ['AZaz09', 'a.b_c-D', '.hidden', '-dash', '_under', '...', 'sha256', 'v1.0.0-rc_1'];
      for (const name of names) await suite.driver.putContent(suite.path('chars', name), Buffer.from(name));
      for (const name of names) expect((await suite.driver.getContent(suite.path('chars', name))).toString()).toBe(name);
      expect((await suite.driver.list(suite.path('chars'))).sort()).toEqual(names.map((name) => suite.path('chars', name)).sort());
    });

    it('round-trips 200-character names and deep paths', async () => {
      const long = 'n'.repeat(190) + '0123456789';
      const deep = Array.from({ length: 16 }, (_, depth) => `level${depth}`);
      const longPath = suite.path(long, long);
      const deepPath = suite.path(...deep, 'leaf');
      await suite.driver.putContent(longPath, Buffer.from('long'));
      await suite.driver.putContent(deepPath, Buffer.from('deep'));
      expect((await suite.driver.getContent(longPath)).toString()).toBe('long');
      expect((await suite.driver.getContent(deepPath)).toString()).toBe('deep');
      expect(await suite.driver.list(suite.path(long))).toEqual([longPath]);
      expect((await suite.driver.stat(suite.path(...deep.slice(0, 8)))).isDir).toBe(true);
    });
  });
}
