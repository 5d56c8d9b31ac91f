import { createHash } from 'node:crypto';
import { type BerthConfig, loadConfigFromString } from '@berth/config';
import type { Descriptor, Digest } from '@berth/oci';
import { pathFor } from '@berth/registry-storage';
import type { StorageDriver } from '@berth/storage-driver';

/**
 * Test material for the manifest service: blobs pushed the way the upload service commits
 * them (bytes under `blobs/`, a `_layers` link in the repository), and manifests of the four
 * pushable types, pretty-printed so that byte-exact storage can be checked.
 */
export type { Descriptor };

export const media = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export function sha256(content: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest;
}

/** Writes a blob and links it into `repository`, as a finished upload leaves it. */
export async function pushBlob(
  driver: StorageDriver,
  repository: string,
  content: Buffer | string,
  mediaType: string,
): Promise<Descriptor> {
  const bytes = Buffer.from(content);
  const digest = sha256(bytes);
  await driver.putContent(pathFor({ kind: 'blobData', digest }), bytes);
  await driver.putContent(pathFor({ kind: 'layerLink', repository, digest }), Buffer.from(digest));
  return { mediaType, digest, size: bytes.length };
}

/** A config and one layer, pushed into `repository`; distinct per `seed`. */
export async function pushImageBlobs(
  driver: StorageDriver,
  repository: string,
  seed: string,
  format: 'docker' | 'oci',
): Promise<{ config: Descriptor; layers: Descriptor[] }> {
  const config = await pushBlob(
    driver,
    repository,
    JSON.stringify({ architecture: 'amd64', os: 'linux', seed }),
    format === 'docker' ? media.dockerConfig : media.ociConfig,
  );
  const layerType = format === 'docker' ? media.dockerLayer : media.ociLayer;
  const layer = await pushBlob(driver, repository, `layer bytes of ${seed}`, layerType);
  return { config, layers: [layer] };
}

/** JSON with two-space indentation and a trailing newline: storage must keep every byte. */
export function manifestBytes(document: object): Buffer {
  return Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
}

export function dockerManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  return manifestBytes({ schemaVersion: 2, mediaType: media.dockerManifest, config, layers });
}

export function dockerList(manifests: Descriptor[]): Buffer {
  return manifestBytes({ schemaVersion: 2, mediaType: media.dockerList, manifests });
}

export function ociManifest(
  config: Descriptor,
  layers: Descriptor[],
  extra: { subject?: Descriptor; artifactType?: string; annotations?: Record<string, string>; withMediaType?: boolean } = {},
): Buffer {
  const { withMediaType = true, ...rest } = extra;
  return manifestBytes({
    schemaVersion: 2,
    ...(withMediaType ? { mediaType: media.ociManifest } : {}),
    ...(rest.artifactType ? { artifactType: rest.artifactType } : {}),
    config,
    layers,
    ...(rest.subject ? { subject: rest.subject } : {}),
    ...(rest.annotations ? { annotations: rest.annotations } : {}),
  });
}

export function ociIndex(manifests: Descriptor[], extra: { subject?: Descriptor; artifactType?: string } = {}): Buffer {
  return manifestBytes({
    schemaVersion: 2,
    mediaType: media.ociIndex,
    ...(extra.artifactType ? { artifactType: extra.artifactType } : {}),
    manifests,
    ...(extra.subject ? { subject: extra.subject } : {}),
  });
}

export function descriptorOf(mediaType: string, content: Buffer): Descriptor {
  return { mediaType, digest: sha256(content), size: content.length };
}

/** The configuration the manifest service reads, with deletes on or off and a catalog page limit. */
export function testConfig(options: { deleteEnabled?: boolean; maxEntries?: number } = {}): BerthConfig {
  const yaml = [
    'version: 0.1',
    'storage:',
    '  inmemory: {}',
    '  delete:',
    `    enabled: ${options.deleteEnabled ?? true}`,
    'http:',
    '  addr: ":5000"',
    'catalog:',
    `  maxentries: ${options.maxEntries ?? 1000}`,
  ].join('\n');
  return loadConfigFromString(yaml, 'manifest-test.yml', {});
}
