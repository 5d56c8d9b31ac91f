export { collectGarbage, type GarbageCollectionOptions, type GarbageCollectionReport, humanBytes, summaryOf } from './garbage-collector';
export { manifestReferences, type ManifestReferences } from './manifest-references';
export { measureStorageUse, type RepositoryUse, type StorageUse } from './storage-use';
export { SpilledDigestSet } from './spilled-digest-set';
