import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import { PathNotFoundError } from '../src/errors';
import type { StorageDriver } from '../src/storage-driver';
import { concurrencyCases } from './cases/concurrency.cases';
import { contentCases } from './cases/content.cases';
import { listingWalkStatCases } from './cases/listing-walk-stat.cases';
import { moveDeleteCases } from './cases/move-delete.cases';
import { orphanCases } from './cases/orphans.cases';
import { pathCases } from './cases/paths.cases';
import { streamCases } from './cases/streams.cases';
import { type DriverSuiteOptions, SuiteContext } from './suite-context';

export type { DriverSuiteOptions } from './suite-context';

/**
 * The one suite every storage driver passes, unchanged (DESIGN.md rule 4), after
 * Distribution's `registry/storage/driver/testsuites`. It tests the contract of
 * `StorageDriver` as reached through `createStorageDriver`, never a backend's details.
 *
 * Each test works under its own random prefix; after it, the suite deletes the prefix and
 * asserts that nothing is left, so every test also checks recursive delete.
 */
export function describeDriverSuite(
  name: string,
  construct: () => Promise<StorageDriver> | StorageDriver,
  options: DriverSuiteOptions = {},
): void {
  describe(`storage driver suite: ${name}`, () => {
    const suite = new SuiteContext(options);

    beforeAll(async () => {
      suite.driver = await construct();
    });

    beforeEach(() => {
      suite.startTest();
    });

    afterEach(async () => {
      const { driver, prefix } = suite;
      await driver.delete(prefix).catch((error: unknown) => {
        if (!(error instanceof PathNotFoundError)) throw error;
      });
      await expect(driver.stat(prefix)).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(driver.list(prefix)).rejects.toBeInstanceOf(PathNotFoundError);
    });

    afterAll(async () => {
      await options.teardown?.();
    });

    pathCases(suite);
    contentCases(suite);
    streamCases(suite);
    listingWalkStatCases(suite);
    moveDeleteCases(suite);
    concurrencyCases(suite);
    orphanCases(suite);
  });
}
