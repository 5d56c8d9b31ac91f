import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

/**
 * The shared suite against a real Swift all-in-one (test/backends/swift.sh). The test
 * run exports its auth URL and credentials; run alone, this file starts Swift itself,
 * unless BERTH_REQUIRE_BACKENDS=1 says the run was meant to provide it (then it fails).
 */
function swiftCredentials(): { authurl: string; username: string; password: string } {
  const { BERTH_TEST_SWIFT_AUTHURL: authurl, BERTH_TEST_SWIFT_USERNAME: username, BERTH_TEST_SWIFT_PASSWORD: password } = process.env;
  if (authurl && username && password) return { authurl, username, password };
  if (process.env.BERTH_REQUIRE_BACKENDS === '1') {
    throw new Error('BERTH_TEST_SWIFT_AUTHURL is not set: start Swift with test/backends/swift.sh start and export what it prints');
  }
  const script = resolve(__dirname, '../../../../../test/backends/swift.sh');
  const exports = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const values = Object.fromEntries([...exports.matchAll(/^export (\w+)=(.*)$/gm)].map((match) => [match[1], match[2]]));
  return {
    authurl: values.BERTH_TEST_SWIFT_AUTHURL ?? '',
    username: values.BERTH_TEST_SWIFT_USERNAME ?? '',
    password: values.BERTH_TEST_SWIFT_PASSWORD ?? '',
  };
}

const MiB = 1024 * 1024;

describeDriverSuite('swift (SLO segments of 5 MiB)', () =>
  createStorageDriver('swift', { ...swiftCredentials(), container: 'berth-suite', chunksize: 5 * MiB }),
);
