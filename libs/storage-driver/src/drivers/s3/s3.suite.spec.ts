import { ensureBucket, s3Backend } from '@berth/testing';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

// The shared suite against S3 as the real Swift all-in-one of test/backends/swift.sh speaks it (s3api).
const MiB = 1024 * 1024;

describeDriverSuite('s3 (on Swift s3api, parts of 5 MiB)', async () => {
  const backend = s3Backend();
  await ensureBucket(backend, 'berth-suite');
  return createStorageDriver('s3', { ...backend, bucket: 'berth-suite', rootdirectory: '/suite-root', chunksize: 5 * MiB, multipartcopythresholdsize: 8 * MiB });
});
