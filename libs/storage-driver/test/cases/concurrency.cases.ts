import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/errors';
import { readAll, type SuiteContext, writeChunk } from '../suite-context';

export function concurrencyCases(suite: SuiteContext): void {
  describe('concurrency', () => {
    it('keeps concurrent writers on different paths apart', async () => {
      const count = 8;
      const paths = Array.from({ length: count }, (_, index) => suite.path('uploads', `w${index}`, 'data'));
      const writers = await Promise.all(paths.map((path) => suite.driver.writer(path)));
      const hashes = paths.map(() => createHash('sha256'));
      // Round robin, every writer's chunk in flight at once.
      for (let round = 0; round < 16; round++) {
        await Promise.all(
          writers.map((writer, index) => {
            const chunk = randomBytes(4096 + index * 13 + round);
            hashes[index]!.update(chunk);
            return writeChunk(writer, chunk);
          }),
        );
      }
      await Promise.all(writers.map((writer) => writer.commit()));
      const expected = hashes.map((hash) => hash.digest('hex'));
      const actual = await Promise.all(
        paths.map(async (path) => createHash('sha256').update(await readAll(await suite.driver.reader(path))).digest('hex')),
      );
      expect(actual).toEqual(expected);
    });

    it('stores many small files written at once', async () => {
      const names = Array.from({ length: 50 }, (_, index) => `f${String(index).padStart(2, '0')}`);
      await Promise.all(names.map((name) => suite.driver.putContent(suite.path('many', name), Buffer.from(name))));
      expect((await suite.driver.list(suite.path('many'))).sort()).toEqual(names.map((name) => suite.path('many', name)));
      const contents = await Promise.all(names.map(async (name) => (await suite.driver.getContent(suite.path('many', name))).toString()));
      expect(contents).toEqual(names);
    });

    it('serves concurrent readers of one file', async () => {
      const path = suite.path('shared');
      const content = randomBytes(300_000);
      await suite.driver.putContent(path, content);
      const reads = await Promise.all(Array.from({ length: 6 }, (_, index) => suite.driver.reader(path, index * 1000).then(readAll)));
      reads.forEach((read, index) => expect(read.equals(content.subarray(index * 1000))).toBe(true));
    });

    it('never shows a reader half of a putContent that replaces a file', async () => {
      const path = suite.path('tag', 'current', 'link');
      const versions = [Buffer.alloc(64 * 1024, 'a'), Buffer.alloc(64 * 1024, 'b')];
      await suite.driver.putContent(path, versions[0]!);
      let writing = true;
      const writes = (async () => {
        for (let round = 1; round <= 30; round++) await suite.driver.putContent(path, versions[round % 2]!);
        writing = false;
      })();
      const seen = new Set<string>();
      while (writing) {
        const read = await suite.driver.getContent(path);
        seen.add(read.equals(versions[0]!) ? 'a' : read.equals(versions[1]!) ? 'b' : `torn (${read.length} bytes)`);
      }
      await writes;
      expect([...seen].filter((value) => value.startsWith('torn'))).toEqual([]);
    });

    it('answers every caller when many calls on missing paths run at once', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, index) => suite.driver.getContent(suite.path(`missing-${index}`))),
      );
      expect(results.every((result) => result.status === 'rejected' && result.reason instanceof PathNotFoundError)).toBe(true);
    });
  });
}
