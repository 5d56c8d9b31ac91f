import { createHash } from 'node:crypto';
import type { BenchHttpClient } from './bench-http-client';
import type { BlobContent } from './blob-source';

const octetStream = { 'Content-Type': 'application/octet-stream' };
export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';

/** The OCI distribution calls the bench makes, as a client like docker or skopeo makes them. */
export class RegistryClient {
  constructor(
    readonly baseUrl: string,
    private readonly http: BenchHttpClient,
  ) {}

  /** POST to open an upload, then one PUT ?digest= carrying the whole blob. */
  async pushMonolithic(repository: string, blob: BlobContent): Promise<void> {
    const location = await this.startUpload(repository);
    location.searchParams.set('digest', blob.digest);
    await this.http.send('PUT', location, {
      headers: { ...octetStream, 'Content-Length': blob.size },
      body: blob.chunks(),
      expect: [201],
    });
  }

  /** POST, one PATCH per chunk with Content-Range, then an empty PUT ?digest= to commit. */
  async pushChunked(repository: string, blob: BlobContent, chunkSize: number): Promise<void> {
    let location = await this.startUpload(repository);
    for (let start = 0; start < blob.size; start += chunkSize) {
      const end = Math.min(blob.size, start + chunkSize);
      const response = await this.http.send('PATCH', location, {
        headers: { ...octetStream, 'Content-Length': end - start, 'Content-Range': `${start}-${end - 1}` },
        body: blob.chunks(start, end),
        expect: [202],
      });
      location = this.location(response.headers.location, location);
    }
    location.searchParams.set('digest', blob.digest);
    await this.http.send('PUT', location, { headers: { 'Content-Length': 0 }, expect: [201] });
  }

  /** GET the blob (following any redirect) and count its bytes; hashes them when asked. */
  async pullBlob(repository: string, blob: BlobContent, verify = false): Promise<void> {
    const hash = verify ? createHash('sha256') : undefined;
    const bytes = await this.http.download(new URL(`/v2/${repository}/blobs/${blob.digest}`, this.baseUrl), (chunk) =>
      hash?.update(chunk),
    );
    if (bytes !== blob.size) throw new Error(`pulled ${bytes} bytes of ${blob.digest}, expected ${blob.size}`);
    const digest = hash === undefined ? undefined : `sha256:${hash.digest('hex')}`;
    if (digest !== undefined && digest !== blob.digest) throw new Error(`pulled ${blob.digest} but got ${digest}`);
  }

  /** PUT an OCI image manifest under `reference` (a tag); returns the manifest's digest. */
  async putManifest(repository: string, reference: string, manifest: object): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    await this.http.send('PUT', new URL(`/v2/${repository}/manifests/${reference}`, this.baseUrl), {
      headers: { 'Content-Type': ociManifestType, 'Content-Length': bytes.length },
      body: [bytes],
      expect: [201],
    });
    return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }

  async manifestRequest(method: 'GET' | 'HEAD', repository: string, reference: string): Promise<void> {
    await this.http.send(method, new URL(`/v2/${repository}/manifests/${reference}`, this.baseUrl), {
      headers: { Accept: ociManifestType },
      expect: [200],
    });
  }

  private async startUpload(repository: string): Promise<URL> {
    const url = new URL(`/v2/${repository}/blobs/uploads/`, this.baseUrl);
    const response = await this.http.send('POST', url, { headers: { 'Content-Length': 0 }, expect: [202] });
    return this.location(response.headers.location, url);
  }

  /** Locations may be absolute or relative to the request (distribution-spec allows both). */
  private location(header: string | undefined, base: URL): URL {
    if (header === undefined) throw new Error(`no Location header in the answer to ${base.href}`);
    return new URL(header, base);
  }
}
