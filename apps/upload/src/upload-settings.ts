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
