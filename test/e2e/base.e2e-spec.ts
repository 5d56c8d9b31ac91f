import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptAnyManifest, digestOf, mediaTypes } from './support/media-types';
import { sendRawRequest, sendVerbatimPath } from './support/raw-http';
import {
  buildImage,
  expectOciError,
  getBlob,
  http,
  pushBlob,
  pushImage,
  putManifest,
  startUpload,
  withQuery,
} from './support/registry-client';
import { beyondReference, configuredHeader, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

// distribution-spec v1.1: the API version check, the headers every answer carries, and the
// grammar of names, tags and digests with the error codes the spec gives for breaking it.
describe('the /v2/ base, error answers, names and digests', () => {
  let registry: RegistryUnderTest;
  let url: string;

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  describe('GET /v2/', () => {
    it('GET /v2/ always → 200 {} with the API version and the configured headers', async () => {
      const res = await http(url).get('/v2/');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({});
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(res.headers[configuredHeader.name]).toBe(configuredHeader.value);
    });

    it('HEAD /v2/ always → 200 with the API version header', async () => {
      const res = await http(url).head('/v2/');
      expect(res.status).toBe(200);
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    });
  });

  describe('error answers', () => {
    it('GET /v2/<name>/manifests/<tag> of an unknown repository → 404 OCI error carrying the configured headers', async () => {
      const res = await http(url).get('/v2/nobody/here/manifests/latest').set('Accept', acceptAnyManifest);
      expectOciError(res, 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(res.headers[configuredHeader.name]).toBe(configuredHeader.value);
    });

    it('HEAD /v2/<name>/blobs/<digest> of an unknown blob → 404 without a body, configured headers present', async () => {
      const res = await http(url).head(`/v2/nobody/blobs/${digestOf('nothing')}`);
      expect(res.status).toBe(404);
      expect(res.text ?? '').toBe('');
      expect(res.headers[configuredHeader.name]).toBe(configuredHeader.value);
    });

    for (const path of ['/v1/_ping', '/debug/health']) {
      it(`GET ${path} (outside /v2/) → 404 with Go's plain-text page`, async () => {
        const res = await http(url).get(path);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(res.text).toBe('404 page not found\n');
      });
    }

    it('GET and POST / → 200, empty: the liveness route load balancers poll', async () => {
      for (const res of [await http(url).get('/'), await http(url).post('/')]) {
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-cache');
        expect(res.text ?? '').toBe('');
      }
    });

    /** An OCI error with `code`, the API version and the configured headers, as every answer of berth. */
    function expectRegistryAnswer(res: { status: number; headers: Record<string, string>; text: string }, status: number, code: string): void {
      expect(res.status, res.text).toBe(status);
      expect((JSON.parse(res.text) as { errors: { code: string }[] }).errors.map((error) => error.code)).toEqual([code]);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(res.headers[configuredHeader.name]).toBe(configuredHeader.value);
    }

    const requestLine = (target: Buffer) => Buffer.concat([Buffer.from('GET '), target, Buffer.from(' HTTP/1.1\r\nHost: registry\r\n\r\n')]);
    for (const [label, target, referenceAnswer] of [
      // The reference routes the first (no such repository: 404) and its server refuses the second (plain-text 400).
      ['raw UTF-8', Buffer.from('/v2/café/tags/list', 'utf8'), /^404 page not found\n: expected 404 to be 400/],
      ['a NUL byte', Buffer.from('/v2/a\0b/tags/list', 'latin1'), /^Unexpected non-whitespace character after JSON at position 4/],
    ] as const) {
      beyondReference(
        "Go's server answers such a line itself, or routes it",
        referenceAnswer,
        `GET /v2/<name>/tags/list with ${label} in the request line (refused by Node's parser) → 400 NAME_INVALID carrying the configured headers`,
        async () => {
          expectRegistryAnswer(await sendRawRequest(url, requestLine(target)), 400, 'NAME_INVALID');
        },
      );
    }

    beyondReference(
      "Go's server answers a plain-text 400",
      /^Unexpected non-whitespace character after JSON at position 4/,
      'GET /v2/ with a header line that has no colon (refused by Node\'s parser) → 400 UNSUPPORTED carrying the configured headers',
      async () => {
        const request = Buffer.from('GET /v2/ HTTP/1.1\r\nHost: registry\r\nnot a header\r\n\r\n');
        expectRegistryAnswer(await sendRawRequest(url, request), 400, 'UNSUPPORTED');
      },
    );

    beyondReference(
      "Go's server takes headers up to 1 MiB",
      /^\{\}: expected 200 to be 431/,
      "GET /v2/ with 17 KiB of headers (over Node's 16 KiB) → 431 SIZE_INVALID carrying the configured headers",
      async () => {
        const request = Buffer.from(`GET /v2/ HTTP/1.1\r\nHost: registry\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
        expectRegistryAnswer(await sendRawRequest(url, request), 431, 'SIZE_INVALID');
      },
    );

    it('PUT /v2/<name>/manifests/<tag> with an invalid body → 400 OCI error carrying the configured headers', async () => {
      const res = await putManifest(url, 'headers/on-errors', 'v1', mediaTypes.ociManifest, '{');
      expectOciError(res, 400, 'MANIFEST_INVALID');
      expect(res.headers[configuredHeader.name]).toBe(configuredHeader.value);
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    });
  });

  describe('repository names', () => {
    const longestName = `${'a'.repeat(127)}/${'b'.repeat(127)}`;

    beyondReference('its router answers a plain-text 404 page', /^404 404 page not found/, 'GET /v2/<name>/tags/list with an uppercase name → 400 NAME_INVALID', async () => {
      expectOciError(await http(url).get('/v2/Library/Alpine/tags/list'), 400, 'NAME_INVALID');
    });

    beyondReference('its router answers a plain-text 404 page', /^404 404 page not found/, 'POST /v2/<name>/blobs/uploads/ with an uppercase name → 400 NAME_INVALID', async () => {
      expectOciError(await http(url).post('/v2/Upper/blobs/uploads/'), 400, 'NAME_INVALID');
    });

    beyondReference('its router answers a plain-text 404 page', /^404 404 page not found/, 'PUT /v2/<name>/manifests/<tag> with a name ending in a separator → 400 NAME_INVALID', async () => {
      const { manifest } = buildImage();
      expectOciError(await putManifest(url, 'trailing-', 'v1', manifest.mediaType, manifest.bytes), 400, 'NAME_INVALID');
    });

    beyondReference('answers 500 UNKNOWN', /^500 \{"errors":\[\{"code":"UNKNOWN"/, 'POST /v2/<name>/blobs/uploads/ with a 256-character name → 400 NAME_INVALID', async () => {
      const name = `${longestName}c`;
      expect(name).toHaveLength(256);
      expectOciError(await http(url).post(`/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
    });

    it('POST /v2/<name>/blobs/uploads/ with a 255-character name → 202 (the longest name allowed)', async () => {
      expect(longestName).toHaveLength(255);
      const res = await http(url).post(`/v2/${longestName}/blobs/uploads/`);
      expect(res.status, res.text).toBe(202);
    });

    // The reference cleans a path with dot segments and redirects (301); Go's server answers
    // an undecodable escape with a plain-text "400 Bad Request", which is no JSON.
    const redirected = /^expected 301 to be 400/;
    for (const [label, path, referenceAnswer] of [
      ['a ../ segment', '/v2/victim/../escape/tags/list', redirected],
      ['a %2e%2e segment', '/v2/victim/%2e%2e/escape/tags/list', redirected],
      ['a %2E%2E%2F sequence', '/v2/victim/%2E%2E%2Fescape/tags/list', redirected],
      ['an undecodable %zz', '/v2/victim%zz/tags/list', /^Unexpected non-whitespace character after JSON at position 4/],
    ] as const) {
      beyondReference(
        'its router cleans the path and redirects, or answers a plain-text 400',
        referenceAnswer,
        `GET /v2/<name>/tags/list with ${label} in the name → 400 NAME_INVALID`,
        async () => {
          const res = await sendVerbatimPath(url, 'GET', path);
          expect(res.status, res.text).toBe(400);
          expect((JSON.parse(res.text) as { errors: { code: string }[] }).errors[0]?.code).toBe('NAME_INVALID');
        },
      );
    }

    it('GET /v2/<name>/tags/list with ../ in the name → never another repository\'s tags', async () => {
      await pushImage(url, 'escape', 'secret');
      const res = await sendVerbatimPath(url, 'GET', '/v2/victim/../escape/tags/list');
      expect(res.text).not.toContain('secret');
      expect(res.status).not.toBe(200);
    });
  });

  describe('tags', () => {
    /** The status of GET, HEAD, PUT (of `manifest`) and DELETE on one manifest reference, in that order. */
    async function statusesFor(repo: string, reference: string, manifest: { mediaType: string; bytes: Buffer }) {
      const path = `/v2/${repo}/manifests/${reference}`;
      return {
        GET: (await http(url).get(path).set('Accept', acceptAnyManifest)).status,
        HEAD: (await http(url).head(path).set('Accept', acceptAnyManifest)).status,
        PUT: (await putManifest(url, repo, reference, manifest.mediaType, manifest.bytes)).status,
        DELETE: (await http(url).delete(path)).status,
      };
    }

    it('PUT /v2/<name>/manifests/<tag> with a 128-character tag → 201 (the longest tag allowed)', async () => {
      const tag = `t${'x'.repeat(127)}`;
      const { manifest, blobs } = buildImage();
      for (const blob of blobs) await pushBlob(url, 'tags/longest', blob);
      const res = await putManifest(url, 'tags/longest', tag, manifest.mediaType, manifest.bytes);
      expect(res.status, res.text).toBe(201);
    });

    // distribution-spec: `<reference>` is a digest or a tag and "MUST NOT be in any other
    // format"; its conformance tests GET and HEAD `.INVALID_MANIFEST_NAME` and want 404. The
    // reference's router has no route for such a path, whatever the method: 404 for all four.
    const invalidReferences = [
      ['".INVALID_MANIFEST_NAME" (the conformance tests\')', '.INVALID_MANIFEST_NAME'],
      ['a tag starting with "-"', '-v1'],
      ['a 129-character tag', `t${'x'.repeat(128)}`],
    ] as const;
    for (const [label, reference] of invalidReferences) {
      it(`GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference> with ${label} → 404, nothing stored`, async () => {
        const repo = 'tags/invalid-reference';
        const { manifest, blobs } = buildImage();
        for (const blob of blobs) await pushBlob(url, repo, blob);
        expect(await statusesFor(repo, reference, manifest)).toEqual({ GET: 404, HEAD: 404, PUT: 404, DELETE: 404 });
        expect((await http(url).get(`/v2/${repo}/manifests/${manifest.digest}`).set('Accept', acceptAnyManifest)).status).toBe(404);
      });
    }

    beyondReference(
      'answers 500 to GET, HEAD and PUT, 400 to DELETE',
      async () => {
        const repo = 'tags/malformed-digest';
        const { manifest, blobs } = buildImage();
        for (const blob of blobs) await pushBlob(url, repo, blob);
        expect(await statusesFor(repo, 'sha256:xyz', manifest)).toEqual({ GET: 500, HEAD: 500, PUT: 500, DELETE: 400 });
      },
      'GET, HEAD, PUT and DELETE /v2/<name>/manifests/sha256:xyz (a malformed digest) → 404',
      async () => {
        const repo = 'tags/malformed-digest';
        const { manifest, blobs } = buildImage();
        for (const blob of blobs) await pushBlob(url, repo, blob);
        expect(await statusesFor(repo, 'sha256:xyz', manifest)).toEqual({ GET: 404, HEAD: 404, PUT: 404, DELETE: 404 });
      },
    );

    beyondReference(
      'its router answers a plain-text 404 page',
      async () => {
        const res = await http(url).get('/v2/tags/invalid-body/manifests/.INVALID_MANIFEST_NAME');
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(res.text).toBe('404 page not found\n');
      },
      'PUT and GET /v2/<name>/manifests/.INVALID_MANIFEST_NAME → 404 NOT_FOUND as an OCI error',
      async () => {
        const { manifest } = buildImage();
        expectOciError(await putManifest(url, 'tags/invalid-body', '.INVALID_MANIFEST_NAME', manifest.mediaType, manifest.bytes), 404, 'NOT_FOUND');
        expectOciError(await http(url).get('/v2/tags/invalid-body/manifests/.INVALID_MANIFEST_NAME'), 404, 'NOT_FOUND');
      },
    );
  });

  describe('digests', () => {
    it('GET /v2/<name>/blobs/sha256:xyz → 400 DIGEST_INVALID', async () => {
      expectOciError(await http(url).get('/v2/digests/blobs/sha256:xyz'), 400, 'DIGEST_INVALID');
    });

    it('GET /v2/<name>/blobs/<digest> with a 40-hex sha256 → 400 DIGEST_INVALID', async () => {
      expectOciError(await http(url).get(`/v2/digests/blobs/sha256:${'ab'.repeat(20)}`), 400, 'DIGEST_INVALID');
    });

    it('GET /v2/<name>/blobs/<digest> with uppercase hex → 400 DIGEST_INVALID', async () => {
      const upper = `sha256:${digestOf('x').slice(7).toUpperCase()}`;
      expectOciError(await http(url).get(`/v2/digests/blobs/${upper}`), 400, 'DIGEST_INVALID');
    });

    for (const [label, digest] of [
      ['sha256:xyz', 'sha256:xyz'],
      ['a short hex', `sha256:${'ab'.repeat(20)}`],
      ['uppercase hex', `sha256:${digestOf('x').slice(7).toUpperCase()}`],
      ['an unknown algorithm', `md5:${'ab'.repeat(16)}`],
    ] as const) {
      it(`PUT /v2/<name>/blobs/uploads/<id>?digest= with ${label} → 400 DIGEST_INVALID, no blob stored`, async () => {
        const location = await startUpload(url, 'digests/upload');
        const res = await http(url)
          .put(withQuery(location, { digest }))
          .set('Content-Type', 'application/octet-stream')
          .send(Buffer.from('x'));
        expectOciError(res, 400, 'DIGEST_INVALID');
        expect((await http(url).head(`/v2/digests/upload/blobs/${digestOf('x')}`)).status).toBe(404);
      });
    }

    it('PUT /v2/<name>/blobs/uploads/<id>?digest=sha512:<hex> → 201, and the blob answers by that sha512 digest', async () => {
      const bytes = randomBytes(3000);
      const digest = digestOf(bytes, 'sha512');
      const location = await startUpload(url, 'digests/sha512');
      const put = await http(url)
        .put(withQuery(location, { digest }))
        .set('Content-Type', 'application/octet-stream')
        .send(bytes);
      expect(put.status, put.text).toBe(201);
      // The reference answers with the canonical sha256 of the same bytes; either names the content.
      expect([digest, digestOf(bytes)]).toContain(put.headers['docker-content-digest']);
      const got = await getBlob(url, 'digests/sha512', digest);
      expect(got.status).toBe(200);
      expect(Buffer.compare(got.body as Buffer, bytes)).toBe(0);
    });

    it('PUT /v2/<name>/blobs/uploads/<id>?digest=sha512:<hex> of other bytes → 400 DIGEST_INVALID', async () => {
      const location = await startUpload(url, 'digests/sha512-wrong');
      const res = await http(url)
        .put(withQuery(location, { digest: digestOf('other', 'sha512') }))
        .set('Content-Type', 'application/octet-stream')
        .send(Buffer.from('these bytes'));
      expectOciError(res, 400, 'DIGEST_INVALID');
    });
  });
});
