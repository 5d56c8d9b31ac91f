import { OssApiServer } from '@berth/testing';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

// No OSS server or emulator runs here: the shared suite runs against libs/testing's server of
// the documented OSS API subset the driver uses, which checks every request's signature. It runs
// in a process of its own: the suite's memory bound measures the driver alone.
const MiB = 1024 * 1024;
let server: OssApiServer | undefined;

describeDriverSuite(
  'oss (on the OSS API test server, parts of 5 MiB)',
  async () => {
    server = await OssApiServer.start({ bucket: 'berth-suite', accessKeyId: 'test-key-id', accessKeySecret: 'test-key-secret' });
    return createStorageDriver('oss', {
      accesskeyid: 'test-key-id',
      accesskeysecret: 'test-key-secret',
      region: 'oss-cn-hangzhou',
      bucket: 'berth-suite',
      endpoint: server.url,
      secure: false,
      rootdirectory: '/suite-root',
      chunksize: 5 * MiB,
    });
  },
  { teardown: () => server?.stop() },
);
