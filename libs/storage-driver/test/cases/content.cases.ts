import { describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/errors';
import { nonUtf8Bytes, readAll, type SuiteContext } from '../suite-context';

export function contentCases(suite: SuiteContext): void {
  describe('content', () => {
    it('stores and returns content, and stats it as a file of its size', async () => {
      const path = suite.path('dir', 'file');
      const content = Buffer.from('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      const before = Date.now();
      await suite.driver.putContent(path, content);
      expect(await suite.driver.getContent(path)).toEqual(content);
      const info = await suite.driver.stat(path);
      expect(info).toMatchObject({ path, size: content.length, isDir: false });
      // Only sanity: a remote backend's clock may differ from ours by a little.
      expect(Math.abs(info.modTime.getTime() - before)).toBeLessThan(10 * 60_000);
    });

    it('stores empty content as a 0-byte file', async () => {
      const path = suite.path('empty');
      await suite.driver.putContent(path, Buffer.alloc(0));
      expect(await suite.driver.getContent(path)).toEqual(Buffer.alloc(0));
      expect(await suite.driver.stat(path)).toMatchObject({ size: 0, isDir: false });
      expect(await readAll(await suite.driver.reader(path))).toEqual(Buffer.alloc(0));
      expect(await suite.driver.list(suite.prefix)).toEqual([path]);
    });

    it('replaces content with putContent, shorter content leaving nothing of the longer', async () => {
      const path = suite.path('link');
      await suite.driver.putContent(path, Buffer.from('a much longer first content'));
      await suite.driver.putContent(path, Buffer.from('short'));
      expect((await suite.driver.getContent(path)).toString()).toBe('short');
      expect((await suite.driver.stat(path)).size).toBe(5);
    });

    it('keeps what was stored when the caller changes its buffer afterwards', async () => {
      const path = suite.path('copied');
      const content = Buffer.from('original');
      await suite.driver.putContent(path, content);
      content.fill(0x21);
      expect((await suite.driver.getContent(path)).toString()).toBe('original');
    });

    it('round-trips unicode text byte for byte', async () => {
      const path = suite.path('unicode');
      const text = 'Grüße, 世界! 🐳📦 — ñ, ß, Ω, \u0000, \u{10ffff}, e\u0301';
      await suite.driver.putContent(path, Buffer.from(text, 'utf8'));
      expect((await suite.driver.getContent(path)).toString('utf8')).toBe(text);
      expect((await suite.driver.stat(path)).size).toBe(Buffer.byteLength(text, 'utf8'));
    });

    it('round-trips bytes that are not UTF-8, through putContent and through streams', async () => {
      const bytes = nonUtf8Bytes();
      await suite.driver.putContent(suite.path('binary-put'), bytes);
      expect(await suite.driver.getContent(suite.path('binary-put'))).toEqual(bytes);
      const writer = await suite.driver.writer(suite.path('binary-stream'));
      writer.end(bytes);
      await writer.commit();
      expect(await readAll(await suite.driver.reader(suite.path('binary-stream')))).toEqual(bytes);
      expect(await suite.driver.getContent(suite.path('binary-stream'))).toEqual(bytes);
    });

    it('throws PathNotFoundError for getContent of a missing file', async () => {
      await expect(suite.driver.getContent(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await suite.driver.putContent(suite.path('present'), Buffer.from('x'));
      await expect(suite.driver.getContent(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.getContent(suite.path('present', 'below-a-file'))).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('throws PathNotFoundError for getContent of a directory, which holds no content', async () => {
      await suite.driver.putContent(suite.path('dir', 'file'), Buffer.from('x'));
      await expect(suite.driver.getContent(suite.path('dir'))).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('names the driver on its errors', async () => {
      const error: unknown = await suite.driver.getContent(suite.path('missing')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PathNotFoundError);
      expect((error as PathNotFoundError).driverName).toBe(suite.driver.name);
      expect((error as PathNotFoundError).path).toBe(suite.path('missing'));
    });
  });
}
