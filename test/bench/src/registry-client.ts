import { createHash } from 'node:crypto';
import type { BenchHttpClient } from './bench-http-client';
import { type BlobContent, matchesAt } from './blob-source';

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

  /** GET the blob (following any redirect) and compare every byte with what was pushed. */
  async pullBlob(repository: string, blob: BlobContent): Promise<void> {
    let position = 0;
    let firstMismatch: number | undefined;
    const bytes = await this.http.download(new URL(`/v2/${repository}/blobs/${blob.digest}`, this.baseUrl), (chunk) => {
      if (firstMismatch === undefined && !matchesAt(blob, position, chunk)) firstMismatch = position;
      position += chunk.length;
    });
    if (bytes !== blob.size) throw new Error(`pulled ${bytes} bytes of ${blob.digest}, expected ${blob.size}`);
    if (firstMismatch !== undefined) throw new Error(`pulled ${blob.digest}: the bytes from offset ${firstMismatch} on are not those pushed`);
  }

  /** PUT an OCI image manifest under `reference` (a tag); returns the exact bytes sent. */
  async putManifest(repository: string, reference: string, manifest: object): Promise<Buffer> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    await this.http.send('PUT', new URL(`/v2/${repository}/manifests/${reference}`, this.baseUrl), {
      headers: { 'Content-Type': ociManifestType, 'Content-Length': bytes.length },
      body: [bytes],
      expect: [201],
    });
    return bytes;
  }

  /** HEAD or GET a manifest pushed as `pushed`: a GET's body must be those bytes, a HEAD must name their digest. */
  async manifestRequest(method: 'GET' | 'HEAD', repository: string, reference: string, pushed: Buffer): Promise<void> {
    const url = new URL(`/v2/${repository}/manifests/${reference}`, this.baseUrl);
    const response = await this.http.send(method, url, { headers: { Accept: ociManifestType }, expect: [200] });
    if (method === 'GET' && !response.body.equals(pushed)) throw new Error(`GET ${url.href}: the body is not the manifest pushed`);
    const digest = `sha256:${createHash('sha256').update(pushed).digest('hex')}`;
    const answered = response.headers['docker-content-digest'];
    if (answered !== digest) throw new Error(`${method} ${url.href}: Docker-Content-Digest ${String(answered)}, expected ${digest}`);
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
