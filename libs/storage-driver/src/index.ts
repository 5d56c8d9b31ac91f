export type { FileInfo, FileWriter, StorageDriver } from './storage-driver';
export { pathExists, textIfExists } from './path-exists';
export { recycleChunk, type RecyclingReadable } from './recycled-chunks';
export {
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  StorageDriverError,
  StorageDriverFailure,
  UnsupportedMethodError,
} from './errors';
export { InvalidDriverParamsError } from './factory-errors';
export { readServiceAccountKey, UnusableKeyfileError } from './drivers/gcs/service-account-key';
export { createStorageDriver, type DriverParamsResult, parseDriverParams } from './factory';
export { type DriverName, type DriverParams, driverNames, driverParams } from './params';
export { assertValidPath, ROOT_PATH } from './path';
export { BaseDriver, type DriverObserver, type DriverOutcome } from './base/base-driver';
export { unreachableCode } from './unreachable';
export { walkByListing } from './walk';
export { DEFAULT_RETRY_POLICY, isReplayableBody, isTransientError, isTransientStatus, retryDelay, type RetryOptions, type RetryPolicy, withRetry } from './retry';
export { STORAGE_DRIVER } from './storage-driver.token';
