import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

const root = mkdtempSync(join(tmpdir(), 'berth-filesystem-suite-'));

describeDriverSuite('filesystem', () => createStorageDriver('filesystem', { rootdirectory: root }), {
  teardown: () => rmSync(root, { recursive: true, force: true }),
});
