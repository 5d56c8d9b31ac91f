import { PrivateAzurite } from '@berth/testing';
import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

// The shared suite against azurite, Microsoft's emulator, started for this file.
let azurite: PrivateAzurite | undefined;

describeDriverSuite(
  'azure (azurite)',
  async () => {
    azurite = await PrivateAzurite.start();
    const driver = createStorageDriver('azure', { ...azurite.driverParams('berth-suite'), rootdirectory: '/suite-root' });
    await driver.ready?.();
    return driver;
  },
  { teardown: () => azurite?.stop() },
);
