import { COLLECTION_FENCE, type CollectionFence } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { RunMarker } from './run-marker';

/** What a client is told when a collection is removing what it references: it retries. */
const RETRY_AFTER_SECONDS = '10';

/**
 * What every write that makes content referenced (blob commit, mount, manifest PUT, which tags)
 * calls before it checks storage for that content, with online collection on: the digests go
 * through the collection fence, and a write that would reference content a run is deleting is
 * refused with 503 UNAVAILABLE (and Retry-After), never stored over a blob about to vanish.
 * When the fence lost its records, storage's run marker decides. Without online collection
 * (no fence), it lets everything through.
 */
export class ReferenceGuard {
  private readonly marker: RunMarker;

  /** `fence` undefined: online collection is off, and every write goes through. */
  constructor(
    private readonly fence: CollectionFence | undefined,
    driver: StorageDriver,
  ) {
    this.marker = new RunMarker(driver);
  }

  async beforeReferencing(digests: readonly string[]): Promise<void> {
    if (this.fence === undefined || digests.length === 0) return;
    const unique = [...new Set(digests)];
    const answer = await this.fence.touch(unique);
    if (answer === 'recorded') return;
    if (answer === 'unknown') {
      const run = await this.marker.liveRun();
      if (run === undefined) {
        await this.fence.settle();
        return;
      }
    }
    throw new OciError('UNAVAILABLE', 'garbage collection is removing content this request references; retry shortly', { 'Retry-After': RETRY_AFTER_SECONDS });
  }
}


/**
 * The Nest provider of an app's `ReferenceGuard`: `COLLECTION_FENCE` is provided by the
 * composition root only with `berth.gc.enabled`; without it the guard lets every write through.
 */
export const referenceGuardProvider = {
  provide: ReferenceGuard,
  inject: [STORAGE_DRIVER, { token: COLLECTION_FENCE, optional: true }],
  useFactory: (driver: StorageDriver, fence: CollectionFence | undefined): ReferenceGuard => new ReferenceGuard(fence, driver),
};
