import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Files in libs/testing/fixtures: facts about the reference's behaviour that tests compare
 * with (see that folder's README). The same path from the sources (vitest) and from dist/.
 */
export type Fixture = 'seed-config.yml' | 'seed-swift-listing.txt';

export function fixturePath(name: Fixture): string {
  return resolve(__dirname, '..', 'fixtures', name);
}

export function readFixture(name: Fixture): string {
  return readFileSync(fixturePath(name), 'utf8');
}
