import { describeDriverSuite } from '../../../test/suite';
import { createStorageDriver } from '../../factory';

describeDriverSuite('inmemory', () => createStorageDriver('inmemory', {}), { holdsContentInMemory: true });
