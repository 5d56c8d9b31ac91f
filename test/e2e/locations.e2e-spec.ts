import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from './support/media-types';
import { buildImage, http, pushBlob, putManifest, withQuery } from './support/registry-client';
import { type RegistryOptions, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

/** Every Location a push meets: start, chunk, status, finish, mount, manifest. */
type PushLocations = Record<'start' | 'chunk' | 'status' | 'finish' | 'mount' | 'manifest', string>;

/**
 * Pushes a blob in one chunk, mounts it into a second repository and pushes a manifest,
 * sending `headers` with every request, and returns the Locations answered. Each next request
 * goes to the path of the previous Location, whatever its origin: the registry is local.
 */
async function pushCollectingLocations(url: string, repo: string, headers: Record<string, string>): Promise<PushLocations> {
  const send = <T extends { set(name: string, value: string): T }>(req: T): T => {
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req;
  };
  const pathOf = (location: string) => {
    const parsed = new URL(location, 'http://placeholder');
    return `${parsed.pathname}${parsed.search}`;
  };
  const locationOf = (res: { status: number; text: string; headers: Record<string, string> }, status: number) => {
    expect(res.status, res.text).toBe(status);
    expect(res.headers.location, 'a Location header').toBeTypeOf('string');
    return res.headers.location!;
  };

  const { manifest, blobs } = buildImage();
  const [config, ...layers] = blobs as [Buffer, ...Buffer[]];
  const start = locationOf(await send(http(url).post(`/v2/${repo}/blobs/uploads/`)), 202);
  const chunk = locationOf(await send(http(url).patch(pathOf(start)).set('Content-Type', 'application/octet-stream')).send(config), 202);
  const status = locationOf(await send(http(url).get(pathOf(chunk))), 204);
  const finish = locationOf(await send(http(url).put(withQuery(pathOf(status), { digest: digestOf(config) }))), 201);
  const layerDigest = await pushBlob(url, `${repo}-source`, layers[0]!);
  const mount = locationOf(await send(http(url).post(`/v2/${repo}/blobs/uploads/?mount=${layerDigest}&from=${repo}-source`)), 201);
  for (const layer of layers.slice(1)) await pushBlob(url, repo, layer);
  const manifestRes = await send(putManifest(url, repo, 'v1', manifest.mediaType, manifest.bytes));
  return { start, chunk, status, finish, mount, manifest: locationOf(manifestRes, 201) };
}

/** The paths a push's Locations must name, whatever their origin. */
function expectPaths(locations: PushLocations, repo: string, origin: string): void {
  for (const [step, location] of Object.entries(locations)) {
    expect(location.startsWith(`${origin}/v2/${repo}/`), `${step}: ${location} starts with ${origin}/v2/${repo}/`).toBe(true);
  }
  for (const step of ['start', 'chunk', 'status'] as const) {
    expect(locations[step].slice(origin.length), step).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[^/?]+(\\?.*)?$`));
  }
  expect(locations.finish.slice(origin.length)).toMatch(new RegExp(`^/v2/${repo}/blobs/sha256:[0-9a-f]{64}$`));
  expect(locations.mount.slice(origin.length)).toMatch(new RegExp(`^/v2/${repo}/blobs/sha256:[0-9a-f]{64}$`));
  expect(locations.manifest.slice(origin.length)).toMatch(new RegExp(`^/v2/${repo}/manifests/sha256:[0-9a-f]{64}$`));
}

// The reference names absolute URLs in every Location (registry/api/v2/urls.go): on
// `http.host` when set, else on the request (`Host`, `X-Forwarded-Proto`, `X-Forwarded-Host`,
// `Forwarded`); only `http.relativeurls: true` makes them paths. berth builds them alike.
describe('Location headers: absolute, relative, on http.host', () => {
  const registries: RegistryUnderTest[] = [];
  const start = async (options: RegistryOptions) => {
    const registry = await startRegistryUnderTest(options);
    registries.push(registry);
    return registry;
  };
  afterAll(async () => {
    for (const registry of registries) await registry.stop();
  });

  describe('by default', () => {
    let registry: RegistryUnderTest;
    beforeAll(async () => {
      registry = await start({});
    });

    it('every Location of a push is an absolute URL on the request\'s Host', async () => {
      const repo = `locations/host-${randomBytes(3).toString('hex')}`;
      const locations = await pushCollectingLocations(registry.url, repo, {});
      expectPaths(locations, repo, registry.url);
    });

    it('behind a proxy: on X-Forwarded-Proto and the first host of X-Forwarded-Host', async () => {
      const repo = `locations/proxied-${randomBytes(3).toString('hex')}`;
      const headers = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'registry.example.com, proxy.internal' };
      const locations = await pushCollectingLocations(registry.url, repo, headers);
      expectPaths(locations, repo, 'https://registry.example.com');
    });

    it('behind a proxy: on a Forwarded header first, X-Forwarded-* beside it ignored', async () => {
      const repo = `locations/forwarded-${randomBytes(3).toString('hex')}`;
      const headers = { Forwarded: 'for=192.0.2.60;proto=https;host="registry.example.com:8443"', 'X-Forwarded-Host': 'other.example.com' };
      const locations = await pushCollectingLocations(registry.url, repo, headers);
      expectPaths(locations, repo, 'https://registry.example.com:8443');
    });
  });

  describe('with http.relativeurls: true', () => {
    let registry: RegistryUnderTest;
    beforeAll(async () => {
      registry = await start({ http: { relativeurls: true } });
    });

    it('every Location of a push is a path, proxy headers or not', async () => {
      const repo = `locations/relative-${randomBytes(3).toString('hex')}`;
      const locations = await pushCollectingLocations(registry.url, repo, { 'X-Forwarded-Host': 'registry.example.com' });
      expectPaths(locations, repo, '');
    });
  });

  describe('with http.host', () => {
    let registry: RegistryUnderTest;
    beforeAll(async () => {
      registry = await start({ http: { host: 'https://registry.example.com:8443', relativeurls: true } });
    });

    it('every Location of a push is on http.host, over the request, its proxy headers and http.relativeurls', async () => {
      const repo = `locations/configured-${randomBytes(3).toString('hex')}`;
      const locations = await pushCollectingLocations(registry.url, repo, { 'X-Forwarded-Host': 'other.example.com' });
      expectPaths(locations, repo, 'https://registry.example.com:8443');
    });
  });
});
