import { describeDriverSuite } from '../../../test/suite';
import { OssTestServer } from '../../../test/oss-test-server';
import { createStorageDriver } from '../../factory';

// No OSS server or emulator runs here: the shared suite runs against the test tree's server of
// the documented OSS API subset the driver uses, which checks every request's signature.
const MiB = 1024 * 1024;
const server = new OssTestServer('berth-suite', 'test-key-id', 'test-key-secret');

describeDriverSuite(
  'oss (on the OSS API test server, parts of 5 MiB)',
  async () => {
    const endpoint = await server.start();
    return createStorageDriver('oss', {
      accesskeyid: 'test-key-id',
      accesskeysecret: 'test-key-secret',
      region: 'oss-cn-hangzhou',
      bucket: 'berth-suite',
      endpoint,
      secure: false,
      rootdirectory: '/suite-root',
      chunksize: 5 * MiB,
    });
  },
  { teardown: () => server.stop() },
);
