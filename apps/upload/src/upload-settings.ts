/**
 * The configuration keys the upload service reads, taken from the validated config once by
 * the module (`http.secret`, `storage.delete.enabled`), so the service is built from plain values.
 */
export interface UploadSettings {
  /** `http.secret`: signs upload state tokens; absent means a random one per process. */
  secret: string | undefined;
  /** `storage.delete.enabled`: whether `DeleteBlob` may unlink blobs. */
  deleteEnabled: boolean;
}

export const UPLOAD_SETTINGS = Symbol('UPLOAD_SETTINGS');

/** `storage.maintenance.uploadpurging`: removing uploads that were started long ago and never finished. */
export interface UploadPurgingSettings {
  enabled: boolean;
  /** An upload started longer ago than this is stale. */
  ageMs: number;
  /** How often the cluster looks for stale uploads. */
  intervalMs: number;
  /** Only report what would be removed. */
  dryRun: boolean;
}

export const UPLOAD_PURGING_SETTINGS = Symbol('UPLOAD_PURGING_SETTINGS');
