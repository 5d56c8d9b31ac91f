import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/errors';
import { readAll, type SuiteContext, writeAndCommit } from '../suite-context';

export function moveDeleteCases(suite: SuiteContext): void {
  describe('move', () => {
    it('moves a file to a new path, creating its parents', async () => {
      const source = suite.path('_uploads', 'id', 'data');
      const dest = suite.path('blobs', 'sha256', 'ab', 'abcdef', 'data');
      const content = randomBytes(100_000);
      await writeAndCommit(suite.driver, source, [content]);
      await suite.driver.move(source, dest);
      await expect(suite.driver.stat(source)).rejects.toBeInstanceOf(PathNotFoundError);
      expect(await readAll(await suite.driver.reader(dest))).toEqual(content);
      expect((await suite.driver.stat(dest)).size).toBe(content.length);
    });

    it('replaces a file at the destination', async () => {
      const source = suite.path('new');
      const dest = suite.path('current', 'link');
      await suite.driver.putContent(source, Buffer.from('sha256:new'));
      await suite.driver.putContent(dest, Buffer.from('sha256:old, and longer'));
      await suite.driver.move(source, dest);
      expect((await suite.driver.getContent(dest)).toString()).toBe('sha256:new');
      await expect(suite.driver.getContent(source)).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('throws PathNotFoundError for a missing source, touching nothing at the destination', async () => {
      const dest = suite.path('dest');
      await expect(suite.driver.move(suite.path('missing'), suite.path('elsewhere', 'dest'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.stat(suite.path('elsewhere', 'dest'))).rejects.toBeInstanceOf(PathNotFoundError);
      await suite.driver.putContent(dest, Buffer.from('kept'));
      await expect(suite.driver.move(suite.path('missing'), dest)).rejects.toBeInstanceOf(PathNotFoundError);
      expect((await suite.driver.getContent(dest)).toString()).toBe('kept');
    });

    it('leaves a file in place when moved onto itself', async () => {
      const path = suite.path('same');
      await suite.driver.putContent(path, Buffer.from('same'));
      await suite.driver.move(path, path);
      expect((await suite.driver.getContent(path)).toString()).toBe('same');
    });
  });

  describe('delete', () => {
    it('deletes a file', async () => {
      const path = suite.path('file');
      await suite.driver.putContent(path, Buffer.from('x'));
      await suite.driver.putContent(suite.path('other'), Buffer.from('y'));
      await suite.driver.delete(path);
      await expect(suite.driver.getContent(path)).rejects.toBeInstanceOf(PathNotFoundError);
      expect(await suite.driver.list(suite.prefix)).toEqual([suite.path('other')]);
    });

    it('deletes a whole subtree and nothing beside it, siblings sharing its name prefix included', async () => {
      const doomed = [['repo', '_layers', 'a'], ['repo', '_layers', 'b', 'link'], ['repo', 'x']];
      const kept = [['repo-sibling', 'x'], ['repo.old'], ['repos', 'y'], ['other', 'repo', 'z']];
      for (const names of [...doomed, ...kept]) await suite.driver.putContent(suite.path(...names), Buffer.from(names.join('/')));
      await suite.driver.delete(suite.path('repo'));
      for (const names of doomed) await expect(suite.driver.stat(suite.path(...names))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.stat(suite.path('repo'))).rejects.toBeInstanceOf(PathNotFoundError);
      for (const names of kept) expect((await suite.driver.getContent(suite.path(...names))).toString()).toBe(names.join('/'));
      expect((await suite.driver.list(suite.prefix)).sort()).toEqual(
        [suite.path('other'), suite.path('repo-sibling'), suite.path('repo.old'), suite.path('repos')].sort(),
      );
    });

    it('throws PathNotFoundError for a missing path', async () => {
      await expect(suite.driver.delete(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await suite.driver.putContent(suite.path('file'), Buffer.from('x'));
      await expect(suite.driver.delete(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.delete(suite.path('file', 'below'))).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('lets a deleted path be written again', async () => {
      const path = suite.path('again');
      await suite.driver.putContent(path, Buffer.from('first'));
      await suite.driver.delete(path);
      await suite.driver.putContent(path, Buffer.from('second'));
      expect((await suite.driver.getContent(path)).toString()).toBe('second');
    });
  });
}
