import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Descriptor, digestOf, parseDigest, type Platform } from '@berth/oci';

/**
 * Writes OCI image layouts (image-layout.md of the OCI image spec) for real clients to push:
 * `skopeo copy oci:DIR:TAG docker://…`, `podman pull oci:DIR:TAG`. Layers are real, uncompressed
 * tar archives holding one file of random bytes, so podman can unpack them too; they are
 * streamed to disk, never held whole in memory.
 */

export const ociMediaTypes = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export interface OciLayerSpec {
  /** Bytes of random content in the layer's one file; the tar blob adds headers and padding. */
  readonly size: number;
}

export interface OciImageOptions {
  readonly layers: readonly OciLayerSpec[];
  readonly tag: string;
  readonly platform?: Platform;
}

export interface OciImage {
  readonly tag: string;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface OciIndexImage {
  readonly tag: string;
  readonly index: Descriptor;
  /** One image per platform, in the order given; their `tag` is the index's. */
  readonly images: readonly OciImage[];
}

const refNameAnnotation = 'org.opencontainers.image.ref.name';
const chunkSize = 1024 * 1024;
const tarBlock = 512;

/** Writes one image into the layout at `dir` (created if missing), tagged `tag` in index.json. */
export async function writeOciImageLayout(dir: string, options: OciImageOptions): Promise<OciImage> {
  await initLayout(dir);
  const image = await writeImage(dir, options.layers, options.platform ?? { os: 'linux', architecture: 'amd64' });
  await addToIndex(dir, image.manifest, options.tag);
  return { tag: options.tag, ...image };
}

/** Writes a multi-platform image: one image per platform under one image index tagged `tag`. */
export async function writeOciIndexLayout(
  dir: string,
  platforms: readonly Platform[],
  options: { readonly tag?: string; readonly layers?: readonly OciLayerSpec[] } = {},
): Promise<OciIndexImage> {
  const tag = options.tag ?? 'latest';
  await initLayout(dir);
  const images: OciImage[] = [];
  for (const platform of platforms) {
    const image = await writeImage(dir, options.layers ?? [{ size: 4096 }], platform);
    images.push({ tag, ...image, manifest: { ...image.manifest, platform } });
  }
  const index = await writeJsonBlob(dir, ociMediaTypes.index, {
    schemaVersion: 2,
    mediaType: ociMediaTypes.index,
    manifests: images.map((image) => image.manifest),
  });
  await addToIndex(dir, index, tag);
  return { tag, index, images };
}

/** The path of a blob inside a layout. */
export function ociBlobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm === undefined || hex === undefined) throw new Error(`not a digest: ${digest}`);
  return join(dir, 'blobs', algorithm, hex);
}

async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

async function writeImage(
  dir: string,
  layerSpecs: readonly OciLayerSpec[],
  platform: Platform,
): Promise<Omit<OciImage, 'tag'>> {
  const layers: Descriptor[] = [];
  for (const [index, spec] of layerSpecs.entries()) layers.push(await writeRandomTarLayer(dir, `layer-${index}.bin`, spec.size));
  const config = await writeJsonBlob(dir, ociMediaTypes.config, {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: {},
    // Uncompressed layers: each diff ID is the layer's own digest.
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
  });
  const manifest = await writeJsonBlob(dir, ociMediaTypes.manifest, {
    schemaVersion: 2,
    mediaType: ociMediaTypes.manifest,
    config,
    layers,
  });
  return { manifest, config, layers };
}

async function writeRandomTarLayer(dir: string, fileName: string, size: number): Promise<Descriptor> {
  const hash = createHash('sha256');
  let written = 0;
  const take = (part: Buffer): Buffer => {
    hash.update(part);
    written += part.length;
    return part;
  };
  // Chunks are made one at a time as the file stream asks for them: a 64 MiB layer costs 1 MiB.
  async function* tarArchive(): AsyncGenerator<Buffer> {
    yield take(tarHeader(fileName, size));
    for (let left = size; left > 0; left -= chunkSize) yield take(randomBytes(Math.min(left, chunkSize)));
    // Padding to a whole block, then two zero blocks: the end-of-archive marker.
    yield take(Buffer.alloc(((tarBlock - (size % tarBlock)) % tarBlock) + 2 * tarBlock));
  }
  const partial = join(dir, 'blobs', 'sha256', `.partial-${randomUUID()}`);
  await pipeline(tarArchive(), createWriteStream(partial));
  const digest = parseDigest(`sha256:${hash.digest('hex')}`);
  await rename(partial, ociBlobPath(dir, digest));
  return { mediaType: ociMediaTypes.layer, digest, size: written };
}

/** A ustar header for one regular file (POSIX.1-1988 ustar, as GNU tar and Go's archive/tar read it). */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(tarBlock);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, '0') + '\0';
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(size, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, ' '.repeat(8));
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, checksum.toString(8).padStart(6, '0') + '\0 ');
  return header;
}

async function writeJsonBlob(dir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = digestOf(bytes);
  await writeFile(ociBlobPath(dir, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Adds (or re-points) a tag in the layout's index.json, keeping the other tags already there. */
async function addToIndex(dir: string, descriptor: Descriptor, tag: string): Promise<void> {
  const file = join(dir, 'index.json');
  let manifests: Descriptor[] = [];
  try {
    manifests = (JSON.parse(await readFile(file, 'utf8')) as { manifests: Descriptor[] }).manifests;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  manifests = manifests.filter((entry) => entry.annotations?.[refNameAnnotation] !== tag);
  const { platform: _platform, ...plain } = descriptor;
  manifests.push({ ...plain, annotations: { [refNameAnnotation]: tag } });
  await writeFile(file, JSON.stringify({ schemaVersion: 2, mediaType: ociMediaTypes.index, manifests }));
}
