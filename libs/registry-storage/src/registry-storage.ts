import { LINK_CACHE, type LinkCache, NO_LINK_CACHE } from '@berth/contracts';
import { pathExists, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { BlobStore } from './blob-store';
import { LinkedBlobStore } from './linked-blob-store';
import { pathFor } from './paths';
import { repositories, type WalkOptions } from './repository-walk';
import { RevisionStore } from './revision-store';
import { TagStore } from './tag-store';
import { UploadStore } from './upload-store';

/**
 * The registry as it lies in storage, in Distribution's layout (its `registry/storage`
 * package): blobs, and per repository its linked blobs, manifest revisions, tags and uploads.
 * The one place that knows which paths exist, what a link holds and what "not found" means;
 * the apps speak the protocol over it, and garbage collection walks it. Link reads that may
 * be cached (`storage.cache.blobdescriptor`) go through `links`, and whatever writes a link
 * here invalidates it.
 */
export class RegistryStorage {
  readonly blobs: BlobStore;
  readonly linkedBlobs: LinkedBlobStore;
  readonly revisions: RevisionStore;
  readonly tags: TagStore;
  readonly uploads: UploadStore;

  constructor(
    /** For the byte streams the model leaves to its caller: an upload's data, which the upload service writes and hashes. */
    readonly driver: StorageDriver,
    links: LinkCache = NO_LINK_CACHE,
  ) {
    this.blobs = new BlobStore(driver);
    this.linkedBlobs = new LinkedBlobStore(driver, links);
    this.revisions = new RevisionStore(driver);
    this.tags = new TagStore(driver, links);
    this.uploads = new UploadStore(driver);
  }

  /** A repository exists once something was pushed to it: layers or manifests. */
  async repositoryExists(repository: string): Promise<boolean> {
    const [layers, manifests] = await Promise.all([
      pathExists(this.driver, pathFor({ kind: 'layersDir', repository })),
      pathExists(this.driver, pathFor({ kind: 'manifestRevisionsDir', repository })),
    ]);
    return layers || manifests;
  }

  /** Every repository in the reference's catalog order, streamed (see `repositories`). */
  repositories(options: WalkOptions = {}): AsyncGenerator<string> {
    return repositories(this.driver, options);
  }
}

/**
 * The Nest provider of an app's `RegistryStorage`, from what the composition root provides:
 * `STORAGE_DRIVER`, and `LINK_CACHE` when `storage.cache.blobdescriptor` is set.
 */
export const registryStorageProvider = {
  provide: RegistryStorage,
  inject: [STORAGE_DRIVER, { token: LINK_CACHE, optional: true }],
  useFactory: (driver: StorageDriver, links: LinkCache | undefined): RegistryStorage => new RegistryStorage(driver, links),
};
