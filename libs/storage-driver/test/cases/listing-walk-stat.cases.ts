import { describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/errors';
import { collectWalk, type SuiteContext } from '../suite-context';

/** A small tree with a sibling whose name extends another's (`a` and `a-b`, `a.b`): prefix bugs show here. */
async function plantTree(suite: SuiteContext): Promise<void> {
  const files: Array<[string[], string]> = [
    [['a', '1'], 'one'],
    [['a', '2', 'x'], 'xx'],
    [['a-b'], 'sibling-file'],
    [['a.b', 'y'], 'yyy'],
    [['b'], ''],
  ];
  for (const [names, content] of files) await suite.driver.putContent(suite.path(...names), Buffer.from(content));
}

export function listingWalkStatCases(suite: SuiteContext): void {
  describe('list', () => {
    it('lists the direct children only, as full paths', async () => {
      await plantTree(suite);
      expect((await suite.driver.list(suite.prefix)).sort()).toEqual(
        [suite.path('a'), suite.path('a-b'), suite.path('a.b'), suite.path('b')].sort(),
      );
      expect((await suite.driver.list(suite.path('a'))).sort()).toEqual([suite.path('a', '1'), suite.path('a', '2')]);
      expect(await suite.driver.list(suite.path('a', '2'))).toEqual([suite.path('a', '2', 'x')]);
    });

    it('throws PathNotFoundError for a missing directory, and for a file', async () => {
      await expect(suite.driver.list(suite.prefix)).rejects.toBeInstanceOf(PathNotFoundError);
      await plantTree(suite);
      await expect(suite.driver.list(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.list(suite.path('a', 'missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.list(suite.path('a', '1'))).rejects.toBeInstanceOf(PathNotFoundError);
    });
  });

  describe('walk', () => {
    it('visits every file and directory below, depth-first in lexical order', async () => {
      await plantTree(suite);
      const seen = await collectWalk(suite.driver.walk(suite.prefix));
      expect(seen.map(({ path, isDir }) => [path, isDir])).toEqual([
        [suite.path('a'), true],
        [suite.path('a', '1'), false],
        [suite.path('a', '2'), true],
        [suite.path('a', '2', 'x'), false],
        [suite.path('a-b'), false],
        [suite.path('a.b'), true],
        [suite.path('a.b', 'y'), false],
        [suite.path('b'), false],
      ]);
      const sizes = Object.fromEntries(seen.filter((info) => !info.isDir).map((info) => [info.path, info.size]));
      expect(sizes).toEqual({ [suite.path('a', '1')]: 3, [suite.path('a', '2', 'x')]: 2, [suite.path('a-b')]: 12, [suite.path('a.b', 'y')]: 3, [suite.path('b')]: 0 });
    });

    it('walks a subtree alone', async () => {
      await plantTree(suite);
      const seen = await collectWalk(suite.driver.walk(suite.path('a')));
      expect(seen.map((info) => info.path)).toEqual([suite.path('a', '1'), suite.path('a', '2'), suite.path('a', '2', 'x')]);
    });

    it('stops when the caller stops', async () => {
      await plantTree(suite);
      const seen: string[] = [];
      for await (const info of suite.driver.walk(suite.prefix)) {
        seen.push(info.path);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([suite.path('a'), suite.path('a', '1')]);
    });

    it('throws PathNotFoundError for a missing path', async () => {
      await expect(collectWalk(suite.driver.walk(suite.path('missing')))).rejects.toBeInstanceOf(PathNotFoundError);
    });
  });

  describe('stat', () => {
    it('tells a file from a directory', async () => {
      await plantTree(suite);
      expect(await suite.driver.stat(suite.path('a', '1'))).toMatchObject({ path: suite.path('a', '1'), isDir: false, size: 3 });
      expect(await suite.driver.stat(suite.path('a'))).toMatchObject({ path: suite.path('a'), isDir: true, size: 0 });
      expect(await suite.driver.stat(suite.path('a', '2'))).toMatchObject({ isDir: true, size: 0 });
      expect(await suite.driver.stat(suite.prefix)).toMatchObject({ isDir: true });
      expect((await suite.driver.stat(suite.path('a'))).modTime).toBeInstanceOf(Date);
    });

    it('throws PathNotFoundError for a missing path, also below a file', async () => {
      await expect(suite.driver.stat(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await plantTree(suite);
      await expect(suite.driver.stat(suite.path('a', 'missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.stat(suite.path('b', 'below-a-file'))).rejects.toBeInstanceOf(PathNotFoundError);
      // A name that only begins like an existing one is not that one.
      await expect(suite.driver.stat(suite.path('a-'))).rejects.toBeInstanceOf(PathNotFoundError);
    });
  });
}
