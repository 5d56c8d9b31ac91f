import { randomBytes } from 'node:crypto';
import request, { type Response } from 'supertest';
import { expect } from 'vitest';
import { acceptAnyManifest, type Descriptor, descriptorOf, digestOf, mediaTypes } from './media-types';

/**
 * The client side of the distribution-spec, written against the spec only, so that the
 * tests can drive berth and the reference registry alike. Locations may be absolute (the
 * reference's) or relative (the spec allows both): {@link pathOf} reads either.
 */

export function http(url: string) {
  return request(url);
}

/** The path and query of a Location header, absolute or relative. */
export function pathOf(location: string | undefined): string {
  expect(location, 'a Location header').toBeTypeOf('string');
  const parsed = new URL(location!, 'http://placeholder');
  return `${parsed.pathname}${parsed.search}`;
}

/** `url` with `params` added to its query (`?` or `&` as needed). */
export function withQuery(path: string, params: Record<string, string>): string {
  const parsed = new URL(path, 'http://placeholder');
  for (const [name, value] of Object.entries(params)) parsed.searchParams.set(name, value);
  return `${parsed.pathname}${parsed.search}`;
}

/** Asserts an OCI error answer: `status`, and `{"errors":[...]}` whose every code is one of `codes`. */
export function expectOciError(res: Response, status: number, codes: string | readonly string[]): void {
  const allowed = typeof codes === 'string' ? [codes] : codes;
  // Requests made with responseType('blob') hold the body as a Buffer, and no text.
  const text = Buffer.isBuffer(res.body) ? res.body.toString('utf8') : (res.text ?? '');
  expect(res.status, `${res.status} ${text}`).toBe(status);
  if (res.request.method === 'HEAD') return;
  let body: { errors?: { code: string; message?: string }[] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    expect.fail(`expected an OCI error body, got: ${text}`);
  }
  expect(Array.isArray(body.errors), `an OCI error body: ${text}`).toBe(true);
  expect(body.errors!.length).toBeGreaterThan(0);
  for (const error of body.errors!) expect(allowed).toContain(error.code);
}

/** `POST /v2/<repo>/blobs/uploads/`: a new session; its Location path. */
export async function startUpload(url: string, repo: string): Promise<string> {
  const res = await http(url).post(`/v2/${repo}/blobs/uploads/`);
  expect(res.status, res.text).toBe(202);
  return pathOf(res.headers.location);
}

/** A monolithic push (spec "POST then PUT"): the whole blob in the PUT that closes the session. */
export async function pushBlob(url: string, repo: string, bytes: Buffer | string): Promise<string> {
  const digest = digestOf(bytes);
  const location = await startUpload(url, repo);
  const res = await http(url)
    .put(withQuery(location, { digest }))
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from(bytes));
  expect(res.status, res.text).toBe(201);
  expect(res.headers['docker-content-digest']).toBe(digest);
  return digest;
}

/** `PUT /v2/<repo>/manifests/<reference>` of exactly `bytes`; the digest the registry answers. */
export async function pushManifest(
  url: string,
  repo: string,
  reference: string,
  mediaType: string,
  bytes: Buffer | string,
): Promise<string> {
  const res = await putManifest(url, repo, reference, mediaType, bytes);
  expect(res.status, res.text).toBe(201);
  expect(res.headers['docker-content-digest']).toBe(digestOf(bytes));
  return digestOf(bytes);
}

export function putManifest(url: string, repo: string, reference: string, mediaType: string, bytes: Buffer | string) {
  // A string, not a Buffer: superagent would JSON-serialize a Buffer under a +json Content-Type.
  const body = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  return http(url).put(`/v2/${repo}/manifests/${reference}`).set('Content-Type', mediaType).send(body);
}

/** GET (or HEAD) of a manifest with an Accept that takes every kind; the body as raw bytes. */
export function getManifest(url: string, repo: string, reference: string, accept: string = acceptAnyManifest) {
  return http(url).get(`/v2/${repo}/manifests/${reference}`).set('Accept', accept).responseType('blob');
}

/** GET of a blob (or of a range of it); the body as raw bytes. */
export function getBlob(url: string, repo: string, digest: string) {
  return http(url).get(`/v2/${repo}/blobs/${digest}`).responseType('blob');
}

export interface PushedImage {
  /** The manifest's digest, media type and exact bytes. */
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly descriptor: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageOptions {
  readonly format?: 'oci' | 'docker';
  /** Layer contents; two small random layers by default. */
  readonly layers?: readonly Buffer[];
  /** Fields added to the manifest: `subject`, `artifactType`, `annotations`. */
  readonly extra?: Record<string, unknown>;
  /** How the manifest object becomes bytes; `JSON.stringify` by default. */
  readonly serialize?: (manifest: object) => string;
  readonly platform?: { os: string; architecture: string };
}

/** Builds an image (layers, config, manifest) without pushing it. */
export function buildImage(options: ImageOptions = {}): { manifest: PushedImage; blobs: Buffer[] } {
  const docker = options.format === 'docker';
  const layers = options.layers ?? [randomBytes(1500), randomBytes(700)];
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const configBytes = Buffer.from(
    JSON.stringify({
      ...platform,
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => digestOf(layer)) },
      // Random: two images built alike still differ, so each test owns its manifests.
      history: [{ created_by: `berth e2e ${randomBytes(8).toString('hex')}` }],
    }),
  );
  const config = descriptorOf(docker ? mediaTypes.dockerConfig : mediaTypes.ociConfig, configBytes);
  const layerDescriptors = layers.map((layer) => descriptorOf(docker ? mediaTypes.dockerLayer : mediaTypes.ociLayer, layer));
  const mediaType = docker ? mediaTypes.dockerManifest : mediaTypes.ociManifest;
  const manifest = { schemaVersion: 2, mediaType, config, layers: layerDescriptors, ...options.extra };
  const bytes = Buffer.from((options.serialize ?? ((value) => JSON.stringify(value)))(manifest));
  const descriptor = { ...descriptorOf(mediaType, bytes), ...(options.extra?.artifactType ? { artifactType: options.extra.artifactType as string } : {}) };
  return {
    manifest: { digest: descriptor.digest, mediaType, bytes, descriptor, config, layers: layerDescriptors },
    blobs: [configBytes, ...layers],
  };
}

/** Pushes an image's blobs, then its manifest by `reference` (a tag, or its own digest when omitted). */
export async function pushImage(url: string, repo: string, reference?: string, options: ImageOptions = {}): Promise<PushedImage> {
  const { manifest, blobs } = buildImage(options);
  for (const blob of blobs) await pushBlob(url, repo, blob);
  await pushManifest(url, repo, reference ?? manifest.digest, manifest.mediaType, manifest.bytes);
  return manifest;
}

/** An index (OCI) or manifest list (Docker) over `children`, already pushed; pushed by `reference`. */
export async function pushIndex(
  url: string,
  repo: string,
  reference: string,
  children: readonly PushedImage[],
  format: 'oci' | 'docker' = 'oci',
): Promise<{ digest: string; bytes: Buffer; mediaType: string }> {
  const mediaType = format === 'oci' ? mediaTypes.ociIndex : mediaTypes.dockerManifestList;
  const bytes = Buffer.from(JSON.stringify(indexOf(mediaType, children.map((child) => child.descriptor))));
  const digest = await pushManifest(url, repo, reference, mediaType, bytes);
  return { digest, bytes, mediaType };
}

export function indexOf(mediaType: string, manifests: readonly Descriptor[]): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType,
    manifests: manifests.map((manifest, index) => ({
      ...manifest,
      platform: manifest.platform ?? { os: 'linux', architecture: index % 2 === 0 ? 'amd64' : 'arm64' },
    })),
  };
}

/** A repository name no other test of the file uses. */
export function uniqueRepo(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
