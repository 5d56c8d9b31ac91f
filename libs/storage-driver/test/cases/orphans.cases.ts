import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { skipDeliberately } from '@berth/testing';
import { readAll, type SuiteContext, writeAndCommit } from '../suite-context';

/** Only for drivers that offer `purgeOrphans` (their files do not own all their bytes). */
export function orphanCases(suite: SuiteContext): void {
  describe('purgeOrphans', () => {
    it('never removes the bytes of a file, committed, moved or closed for a later append', async (context) => {
      const purge = suite.driver.purgeOrphans;
      if (purge === undefined) return skipDeliberately(context, 'the driver has no purgeOrphans: its files own all their bytes');
      const committed = [randomBytes(3_000_000), randomBytes(2_500_000)];
      await writeAndCommit(suite.driver, suite.path('committed'), committed);
      const moved = randomBytes(2_000_000);
      await writeAndCommit(suite.driver, suite.path('_uploads', 'm', 'data'), [moved]);
      await suite.driver.move(suite.path('_uploads', 'm', 'data'), suite.path('blobs', 'moved'));
      const closed = randomBytes(1_500_000);
      const writer = await suite.driver.writer(suite.path('_uploads', 'c', 'data'));
      writer.end(closed);
      await finished(writer);

      // Every byte counts as old: nothing of a file may go.
      await purge(new Date(Date.now() + 60_000), { dryRun: false });
      // equals(), not toEqual: vitest compares megabytes of Buffer byte by byte, for minutes.
      expect((await readAll(await suite.driver.reader(suite.path('committed')))).equals(Buffer.concat(committed))).toBe(true);
      expect((await readAll(await suite.driver.reader(suite.path('blobs', 'moved')))).equals(moved)).toBe(true);
      const more = randomBytes(700_000);
      const resumed = await suite.driver.writer(suite.path('_uploads', 'c', 'data'), { append: true });
      resumed.end(more);
      await resumed.commit();
      expect((await readAll(await suite.driver.reader(suite.path('_uploads', 'c', 'data')))).equals(Buffer.concat([closed, more]))).toBe(true);
    });
  });
}
