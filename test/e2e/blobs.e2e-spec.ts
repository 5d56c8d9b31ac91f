import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from './support/media-types';
import { fetchStatusAndHeaders } from './support/raw-http';
import { expectOciError, getBlob, http, pushBlob } from './support/registry-client';
import { type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

// distribution-spec v1.1 "Pulling blobs" and "Deleting blobs"; ranges per RFC 9110 §14,
// as the reference serves them (Go's http.ServeContent).
describe('blobs: /v2/<name>/blobs/<digest>', () => {
  let registry: RegistryUnderTest;
  let url: string;
  const repo = 'blobs/read';
  const bytes = randomBytes(100);
  let digest: string;

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
    digest = await pushBlob(url, repo, bytes);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  describe('HEAD and GET', () => {
    it('HEAD /v2/<name>/blobs/<digest> of a pushed blob → 200 with its length, digest, ETag and no body', async () => {
      const res = await http(url).head(`/v2/${repo}/blobs/${digest}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('100');
      expect(res.headers['docker-content-digest']).toBe(digest);
      expect(res.headers.etag).toBe(`"${digest}"`);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.text ?? '').toBe('');
    });

    it('GET /v2/<name>/blobs/<digest> of a pushed blob → 200 with exactly its bytes', async () => {
      const res = await getBlob(url, repo, digest);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('100');
      expect(res.headers['docker-content-digest']).toBe(digest);
      expect(res.headers.etag).toBe(`"${digest}"`);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> of a 5 MiB blob → 200 with exactly its bytes', async () => {
      const big = randomBytes(5 * 1024 * 1024 + 3);
      const bigDigest = await pushBlob(url, 'blobs/big', big);
      const res = await getBlob(url, 'blobs/big', bigDigest);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(big.length));
      expect(digestOf(res.body as Buffer)).toBe(bigDigest);
    });

    it('GET /v2/<name>/blobs/<digest> of an empty blob → 200 with Content-Length 0', async () => {
      const emptyDigest = await pushBlob(url, 'blobs/empty', Buffer.alloc(0));
      expect(emptyDigest).toBe(digestOf(''));
      const res = await getBlob(url, 'blobs/empty', emptyDigest);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('0');
      expect((res.body as Buffer).length).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with If-None-Match of its ETag → 304 without a body', async () => {
      const res = await getBlob(url, repo, digest).set('If-None-Match', `"${digest}"`);
      expect(res.status).toBe(304);
      expect((res.body as Buffer | undefined)?.length ?? 0).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> of a digest never pushed → 404 BLOB_UNKNOWN', async () => {
      expectOciError(await getBlob(url, repo, digestOf('never pushed')), 404, 'BLOB_UNKNOWN');
    });

    it('GET /v2/<name>/blobs/<digest> of a blob pushed only to another repository → 404 BLOB_UNKNOWN', async () => {
      expectOciError(await getBlob(url, 'blobs/other', digest), 404, 'BLOB_UNKNOWN');
      expect((await http(url).head(`/v2/blobs/other/blobs/${digest}`)).status).toBe(404);
    });
  });

  describe('Range requests', () => {
    const ranged = (range: string) => getBlob(url, repo, digest).set('Range', range);

    it('GET /v2/<name>/blobs/<digest> with Range bytes=10-19 → 206, Content-Range bytes 10-19/100, those 10 bytes', async () => {
      const res = await ranged('bytes=10-19');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe('bytes 10-19/100');
      expect(res.headers['content-length']).toBe('10');
      expect(Buffer.compare(res.body as Buffer, bytes.subarray(10, 20))).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with an open Range bytes=90- → 206, the last 10 bytes', async () => {
      const res = await ranged('bytes=90-');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe('bytes 90-99/100');
      expect(Buffer.compare(res.body as Buffer, bytes.subarray(90))).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with a suffix Range bytes=-7 → 206, the last 7 bytes', async () => {
      const res = await ranged('bytes=-7');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe('bytes 93-99/100');
      expect(res.headers['content-length']).toBe('7');
      expect(Buffer.compare(res.body as Buffer, bytes.subarray(93))).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with a suffix Range longer than the blob → 206, the whole blob', async () => {
      const res = await ranged('bytes=-500');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe('bytes 0-99/100');
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with a Range ending past the end → 206 cut at the last byte', async () => {
      const res = await ranged('bytes=95-5000');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe('bytes 95-99/100');
      expect(Buffer.compare(res.body as Buffer, bytes.subarray(95))).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with a Range starting past the end → 416, Content-Range bytes */100', async () => {
      const res = await fetchStatusAndHeaders(url, `/v2/${repo}/blobs/${digest}`, { Range: 'bytes=100-200' });
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */100');
    });

    it('GET /v2/<name>/blobs/<digest> with a Range whose end precedes its start → whole blob or 416, never a wrong slice', async () => {
      // RFC 9110 §14.1.1: an invalid range-spec makes the header ignorable; 416 is also allowed.
      const head = await fetchStatusAndHeaders(url, `/v2/${repo}/blobs/${digest}`, { Range: 'bytes=50-10' });
      expect([200, 416]).toContain(head.status);
      if (head.status === 200) {
        const res = await ranged('bytes=50-10');
        expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
      }
    });
  });

  describe('DELETE', () => {
    it('DELETE /v2/<name>/blobs/<digest> of a linked blob → 202, then HEAD 404 and GET 404 BLOB_UNKNOWN', async () => {
      const doomed = randomBytes(64);
      const doomedDigest = await pushBlob(url, 'blobs/delete', doomed);
      const res = await http(url).delete(`/v2/blobs/delete/blobs/${doomedDigest}`);
      expect(res.status, res.text).toBe(202);
      expect((await http(url).head(`/v2/blobs/delete/blobs/${doomedDigest}`)).status).toBe(404);
      expectOciError(await getBlob(url, 'blobs/delete', doomedDigest), 404, 'BLOB_UNKNOWN');
    });

    it('DELETE /v2/<name>/blobs/<digest> in one repository → the blob still answers in another that links it', async () => {
      const shared = randomBytes(64);
      const sharedDigest = await pushBlob(url, 'blobs/keep-a', shared);
      await pushBlob(url, 'blobs/keep-b', shared);
      expect((await http(url).delete(`/v2/blobs/keep-a/blobs/${sharedDigest}`)).status).toBe(202);
      const res = await getBlob(url, 'blobs/keep-b', sharedDigest);
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body as Buffer, shared)).toBe(0);
    });

    it('DELETE /v2/<name>/blobs/<digest> of a blob this repository does not link → 404 BLOB_UNKNOWN', async () => {
      expectOciError(await http(url).delete(`/v2/${repo}/blobs/${digestOf('not here')}`), 404, 'BLOB_UNKNOWN');
    });

    it('DELETE /v2/<name>/blobs/<digest> twice → 202, then 404 BLOB_UNKNOWN', async () => {
      const twice = await pushBlob(url, 'blobs/twice', randomBytes(32));
      expect((await http(url).delete(`/v2/blobs/twice/blobs/${twice}`)).status).toBe(202);
      expectOciError(await http(url).delete(`/v2/blobs/twice/blobs/${twice}`), 404, 'BLOB_UNKNOWN');
    });
  });

  // Larger than one read of the server (512 KiB on the filesystem), so bodies span several chunks.
  describe('blobs of several MiB', () => {
    const large = randomBytes(3 * 1024 * 1024 + 17);
    let largeDigest: string;

    beforeAll(async () => {
      largeDigest = await pushBlob(url, 'blobs/large', large);
    });

    it('GET /v2/<name>/blobs/<digest> of a 3 MiB blob → 200 with exactly its bytes', async () => {
      const res = await getBlob(url, 'blobs/large', largeDigest);
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body as Buffer, large)).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> with a Range across read chunks → 206, exactly those bytes', async () => {
      const res = await getBlob(url, 'blobs/large', largeDigest).set('Range', 'bytes=500000-1600000');
      expect(res.status).toBe(206);
      expect(Buffer.compare(res.body as Buffer, large.subarray(500_000, 1_600_001))).toBe(0);
    });

    it('GET /v2/<name>/blobs/<digest> that the client hangs up on midway → the next GETs get the whole blob', async () => {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${url}/v2/blobs/large/blobs/${largeDigest}`, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.once('error', (error) => (req.destroyed ? resolve() : reject(error)));
        req.end();
      });
      const answers = await Promise.all([1, 2].map(() => getBlob(url, 'blobs/large', largeDigest)));
      for (const res of answers) expect(Buffer.compare(res.body as Buffer, large)).toBe(0);
    });
  });
});
