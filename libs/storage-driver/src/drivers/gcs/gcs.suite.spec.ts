import { generateKeyPairSync } from 'node:crypto';
import { GcsJsonApiServer } from '@berth/testing';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

// No GCS emulator runs here (firebase-tools' needs Java 21 and a jar from Google): the shared
// suite runs against the documented JSON API subset served by libs/testing's GcsJsonApiServer,
// in a process of its own: the suite's memory bound measures the driver alone.
let server: GcsJsonApiServer | undefined;

describeDriverSuite(
  'gcs (JSON API test server, resumable chunks of 1 MiB)',
  async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'berth-suite@berth-test.iam.gserviceaccount.com';
    server = await GcsJsonApiServer.start({ buckets: ['berth-suite'], signer: { email, publicKey } });
    const driver = createStorageDriver('gcs', {
      bucket: 'berth-suite',
      rootdirectory: '/suite-root',
      chunksize: 1024 * 1024,
      apiendpoint: server.url,
      credentials: { type: 'service_account', client_email: email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    await driver.ready?.();
    return driver;
  },
  { teardown: () => server?.stop() },
);
