export { collectGarbage, type GarbageCollectionOptions, type GarbageCollectionReport, humanBytes, type OnlineSweep, summaryOf } from './garbage-collector';
export { manifestReferences, type ManifestReferences } from './manifest-references';
export { LEASE_TTL_MS, OnlineCollection, type OnlineCollectionOutcome, type OnlineCollectionSettings } from './online-collection';
export { ReferenceGuard, referenceGuardProvider } from './reference-guard';
export { RUN_MARKER_PATH, RUN_MARKER_VALID_MS, RunMarker } from './run-marker';
export { measureStorageUse, type RepositoryUse, type StorageUse } from './storage-use';
export { SpilledDigestSet } from './spilled-digest-set';
