export { BlobStore } from './blob-store';
export { type LinkedBlob, LinkedBlobStore } from './linked-blob-store';
export { mapBounded } from './listing';
export { type PathKind, pathFor, type PathSpec, REGISTRY_ROOT, repositoryNameFromPath } from './paths';
export { RegistryStorage, registryStorageProvider } from './registry-storage';
export { lessPath, type WalkOptions } from './repository-walk';
export { RevisionStore } from './revision-store';
export { TagStore } from './tag-store';
export { closeQuietly, type StoredUpload, UploadStore } from './upload-store';
