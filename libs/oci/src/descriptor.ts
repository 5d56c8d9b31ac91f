import type { Digest } from './digest';

/**
 * Content by address (image-spec `descriptor.md`): what manifests and indexes hold, and what
 * the registry answers about a manifest. `mediaType`, `digest` and `size` are required.
 */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** OCI 1.1: the type of an artifact (on a referrer, else its config's media type). */
  artifactType?: string;
  /** The content itself, base64, for small blobs. */
  data?: string;
  /** On an index's entries: what the manifest runs on. */
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}
