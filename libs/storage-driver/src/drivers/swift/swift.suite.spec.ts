import { swiftBackend } from '@berth/testing';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

// The shared suite against the real Swift all-in-one of test/backends/swift.sh.
const MiB = 1024 * 1024;

describeDriverSuite('swift (SLO segments of 5 MiB)', () =>
  createStorageDriver('swift', { ...swiftBackend(), container: 'berth-suite', chunksize: 5 * MiB }),
);
