import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, hexOf } from './support/media-types';
import { sendChunkedBody, sendTruncatedRequest } from './support/raw-http';
import { expectOciError, getBlob, http, pathOf, pushBlob, startUpload, withQuery } from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

// distribution-spec v1.1 "Pushing blobs": monolithic, chunked and streamed uploads, mounts,
// status, cancel; and the DESIGN.md rule that nothing half-done becomes visible.
describe('blob uploads: /v2/<name>/blobs/uploads/', () => {
  let registry: RegistryUnderTest;
  let url: string;

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const patch = (location: string, bytes: Buffer, contentRange?: string) => {
    const req = http(url).patch(location).set('Content-Type', 'application/octet-stream');
    if (contentRange !== undefined) req.set('Content-Range', contentRange);
    return req.send(bytes);
  };
  const finish = (location: string, digest: string, bytes?: Buffer) => {
    const req = http(url).put(withQuery(location, { digest })).set('Content-Type', 'application/octet-stream');
    return bytes === undefined ? req : req.send(bytes);
  };
  const uploadsDir = (repo: string) => join(registry.root, 'docker/registry/v2/repositories', repo, '_uploads');
  const uuidOf = (location: string) => new URL(location, 'http://x').pathname.split('/').at(-1)!;

  async function expectBlob(repo: string, bytes: Buffer): Promise<void> {
    const res = await getBlob(url, repo, digestOf(bytes));
    expect(res.status, `GET of ${digestOf(bytes)} in ${repo}`).toBe(200);
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
  }

  async function expectNoBlob(repo: string, digest: string): Promise<void> {
    expect((await http(url).head(`/v2/${repo}/blobs/${digest}`)).status, `HEAD of ${digest} in ${repo}`).toBe(404);
  }

  describe('POST', () => {
    it('POST /v2/<name>/blobs/uploads/ → 202 with Location, Docker-Upload-UUID and Range 0-0', async () => {
      const res = await http(url).post('/v2/uploads/start/blobs/uploads/');
      expect(res.status).toBe(202);
      const uuid = res.headers['docker-upload-uuid'] as string;
      expect(uuid).toMatch(/^[A-Za-z0-9_.-]+$/);
      expect(new URL(res.headers.location as string, url).pathname).toBe(`/v2/uploads/start/blobs/uploads/${uuid}`);
      expect(res.headers.range).toBe('0-0');
      expect(res.headers['content-length']).toBe('0');
    });

    beyondReference('ignores ?digest= on POST and opens a session (202)', /^expected 202 to be 201/, 'POST /v2/<name>/blobs/uploads/?digest= with the whole blob → 201 and the blob answers', async () => {
      const bytes = randomBytes(2048);
      const digest = digestOf(bytes);
      const res = await http(url)
        .post(`/v2/uploads/single-post/blobs/uploads/?digest=${digest}`)
        .set('Content-Type', 'application/octet-stream')
        .send(bytes);
      expect(res.status, res.text).toBe(201);
      expect(new URL(res.headers.location as string, url).pathname).toBe(`/v2/uploads/single-post/blobs/${digest}`);
      expect(res.headers['docker-content-digest']).toBe(digest);
      await expectBlob('uploads/single-post', bytes);
    });

    beyondReference('ignores ?digest= on POST and opens a session (202)', /^202 : expected 202 to be 400/, 'POST /v2/<name>/blobs/uploads/?digest= with other bytes → 400 DIGEST_INVALID, no blob visible', async () => {
      const bytes = randomBytes(512);
      const claimed = digestOf('something else');
      const res = await http(url)
        .post(`/v2/uploads/single-post-bad/blobs/uploads/?digest=${claimed}`)
        .set('Content-Type', 'application/octet-stream')
        .send(bytes);
      expectOciError(res, 400, 'DIGEST_INVALID');
      await expectNoBlob('uploads/single-post-bad', claimed);
      await expectNoBlob('uploads/single-post-bad', digestOf(bytes));
    });

    it('POST /v2/<name>/blobs/uploads/?mount=&from= of a blob linked in from → 201, and the blob answers here', async () => {
      const bytes = randomBytes(1000);
      const digest = await pushBlob(url, 'uploads/mount-source', bytes);
      const res = await http(url).post(`/v2/uploads/mount-target/blobs/uploads/?mount=${digest}&from=uploads/mount-source`);
      expect(res.status, res.text).toBe(201);
      expect(new URL(res.headers.location as string, url).pathname).toBe(`/v2/uploads/mount-target/blobs/${digest}`);
      expect(res.headers['docker-content-digest']).toBe(digest);
      await expectBlob('uploads/mount-target', bytes);
    });

    it('POST /v2/<name>/blobs/uploads/?mount=&from= of a blob not linked in from → 202, a new session', async () => {
      const bytes = randomBytes(1000);
      const digest = await pushBlob(url, 'uploads/mount-elsewhere', bytes);
      const res = await http(url).post(`/v2/uploads/mount-target2/blobs/uploads/?mount=${digest}&from=uploads/mount-empty`);
      expect(res.status, res.text).toBe(202);
      expect(res.headers['docker-upload-uuid']).toBeTruthy();
      expect(new URL(res.headers.location as string, url).pathname).toMatch(/^\/v2\/uploads\/mount-target2\/blobs\/uploads\/.+/);
      await expectNoBlob('uploads/mount-target2', digest);
      // The session is a real one: the blob can be pushed through it.
      expect((await finish(pathOf(res.headers.location), digest, bytes)).status).toBe(201);
      await expectBlob('uploads/mount-target2', bytes);
    });

    beyondReference(
      'ignores mount without from and opens a session (202)',
      async () => {
        const digest = await pushBlob(url, 'uploads/mount-anywhere-source', randomBytes(1000));
        const res = await http(url).post(`/v2/uploads/mount-anywhere/blobs/uploads/?mount=${digest}`);
        expect(res.status, res.text).toBe(202);
        await expectNoBlob('uploads/mount-anywhere', digest);
      },
      'POST /v2/<name>/blobs/uploads/?mount= without from, of a blob the registry holds → 201',
      async () => {
        const bytes = randomBytes(1000);
        const digest = await pushBlob(url, 'uploads/mount-anywhere-source', bytes);
        const res = await http(url).post(`/v2/uploads/mount-anywhere/blobs/uploads/?mount=${digest}`);
        expect(res.status, res.text).toBe(201);
        expect(res.headers['docker-content-digest']).toBe(digest);
        await expectBlob('uploads/mount-anywhere', bytes);

      },
    );

    // The spec's switch for registries without automatic content discovery (its conformance
    // suite's OCI_AUTOMATIC_CROSSMOUNT): berth.upload.automaticcrossmount: false answers a mount
    // without `from` as the reference does. The reference has no such key and always does.
    describe('with berth.upload.automaticcrossmount: false', () => {
      let manual: RegistryUnderTest;
      beforeAll(async () => {
        manual = await startRegistryUnderTest({ berth: { upload: { automaticcrossmount: false } } });
      });
      afterAll(async () => {
        await manual?.stop();
      });

      it('POST /v2/<name>/blobs/uploads/?mount= without from, of a blob the registry holds → 202, a new session; the blob stays out', async () => {
        const bytes = randomBytes(1000);
        const digest = await pushBlob(manual.url, 'uploads/manual-source', bytes);
        const res = await http(manual.url).post(`/v2/uploads/manual-target/blobs/uploads/?mount=${digest}`);
        expect(res.status, res.text).toBe(202);
        expect(res.headers['docker-upload-uuid']).toBeTruthy();
        expect(new URL(res.headers.location as string, manual.url).pathname).toMatch(/^\/v2\/uploads\/manual-target\/blobs\/uploads\/.+/);
        expect((await http(manual.url).head(`/v2/uploads/manual-target/blobs/${digest}`)).status).toBe(404);
        const put = await http(manual.url).put(withQuery(pathOf(res.headers.location), { digest })).set('Content-Type', 'application/octet-stream').send(bytes);
        expect(put.status, put.text).toBe(201);
      });

      it('POST /v2/<name>/blobs/uploads/?mount=&from= of a blob linked in from → 201 still', async () => {
        const digest = await pushBlob(manual.url, 'uploads/manual-from', randomBytes(500));
        const res = await http(manual.url).post(`/v2/uploads/manual-from-target/blobs/uploads/?mount=${digest}&from=uploads/manual-from`);
        expect(res.status, res.text).toBe(201);
        expect((await http(manual.url).head(`/v2/uploads/manual-from-target/blobs/${digest}`)).status).toBe(200);
      });
    });

    it('POST /v2/<name>/blobs/uploads/?mount= without from, of a blob the registry does not hold → 202, a new session', async () => {
      const res = await http(url).post(`/v2/uploads/mount-nothing/blobs/uploads/?mount=${digestOf('held nowhere')}`);
      expect(res.status, res.text).toBe(202);
      expect(res.headers['docker-upload-uuid']).toBeTruthy();
    });
  });

  describe('PATCH', () => {
    it('PATCH /v2/<name>/blobs/uploads/<id> streamed, without Content-Range → 202, Range 0-<n-1>; PUT ?digest= → 201', async () => {
      const bytes = randomBytes(300_000);
      const location = await startUpload(url, 'uploads/streamed');
      const res = await patch(location, bytes);
      expect(res.status, res.text).toBe(202);
      expect(res.headers.range).toBe(`0-${bytes.length - 1}`);
      expect(res.headers['docker-upload-uuid']).toBe(uuidOf(location));
      const put = await finish(pathOf(res.headers.location), digestOf(bytes));
      expect(put.status, put.text).toBe(201);
      expect(put.headers['docker-content-digest']).toBe(digestOf(bytes));
      await expectBlob('uploads/streamed', bytes);
    });

    // A blob's bytes are bytes whatever type the client names: none may be parsed as a JSON or form body.
    for (const [type, text] of [
      ['application/json', '{"layer": [1, 2, 3]}'],
      ['application/x-www-form-urlencoded', 'layer=1&layer=2'],
    ] as const) {
      beyondReference(
        'it answers a PATCH of any other type than application/octet-stream 500 UNKNOWN ("bad Content-Type")',
        /expected 500 to be 202/,
        `PATCH and PUT /v2/<name>/blobs/uploads/<id> sent as ${type} → 202 and 201, every byte kept`,
        async () => {
          const bytes = Buffer.from(text);
          const location = await startUpload(url, 'uploads/typed');
          // As text: supertest would encode a Buffer to the type named.
          const res = await http(url).patch(location).set('Content-Type', type).send(text);
          expect(res.status, res.text).toBe(202);
          expect(res.headers.range).toBe(`0-${bytes.length - 1}`);
          const put = await http(url).put(withQuery(pathOf(res.headers.location), { digest: digestOf(Buffer.concat([bytes, bytes])) })).set('Content-Type', type).send(text);
          expect(put.status, put.text).toBe(201);
          await expectBlob('uploads/typed', Buffer.concat([bytes, bytes]));
        },
      );
    }

    it('PATCH /v2/<name>/blobs/uploads/<id> with Transfer-Encoding: chunked and no Content-Length → 202, every byte kept', async () => {
      const parts = [randomBytes(70_000), randomBytes(1), randomBytes(130_000)];
      const whole = Buffer.concat(parts);
      const location = await startUpload(url, 'uploads/transfer-chunked');
      const res = await sendChunkedBody({
        url,
        method: 'PATCH',
        path: location,
        chunks: parts,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(res.status, res.text).toBe(202);
      expect(res.headers.range).toBe(`0-${whole.length - 1}`);
      expect((await finish(pathOf(res.headers.location), digestOf(whole))).status).toBe(201);
      await expectBlob('uploads/transfer-chunked', whole);
    });

    it('PATCH /v2/<name>/blobs/uploads/<id> in three chunks with Content-Range → 202 each, Range growing; PUT → 201', async () => {
      const bytes = randomBytes(25);
      let location = await startUpload(url, 'uploads/chunked');
      for (const [start, end] of [
        [0, 9],
        [10, 19],
        [20, 24],
      ] as const) {
        const res = await patch(location, bytes.subarray(start, end + 1), `${start}-${end}`);
        expect(res.status, res.text).toBe(202);
        expect(res.headers.range).toBe(`0-${end}`);
        location = pathOf(res.headers.location);
      }
      expect((await finish(location, digestOf(bytes))).status).toBe(201);
      await expectBlob('uploads/chunked', bytes);
    });

    beyondReference('ignores Content-Range in 2.8 (202); its range checks came with Distribution 3', /^202 : expected 202 to be 416/, 'PATCH /v2/<name>/blobs/uploads/<id> with a chunk past the offset (out of order) → 416, offset unchanged', async () => {
      const bytes = randomBytes(30);
      const first = await patch(await startUpload(url, 'uploads/out-of-order'), bytes.subarray(0, 10), '0-9');
      const location = pathOf(first.headers.location);
      const skipped = await patch(location, bytes.subarray(20, 30), '20-29');
      expectOciError(skipped, 416, ['RANGE_INVALID', 'BLOB_UPLOAD_INVALID']);
      const status = await http(url).get(location);
      expect(status.status).toBe(204);
      expect(status.headers.range).toBe('0-9');
    });

    beyondReference('ignores Content-Range in 2.8 (202); its range checks came with Distribution 3', /^202 : expected 202 to be 416/, 'PATCH /v2/<name>/blobs/uploads/<id> repeating a chunk already received → 416', async () => {
      const bytes = randomBytes(20);
      const first = await patch(await startUpload(url, 'uploads/repeat'), bytes.subarray(0, 10), '0-9');
      expectOciError(await patch(pathOf(first.headers.location), bytes.subarray(0, 10), '0-9'), 416, [
        'RANGE_INVALID',
        'BLOB_UPLOAD_INVALID',
      ]);
    });

    for (const malformed of ['bytes=0-9', 'zero-nine', '9-0']) {
      beyondReference('ignores Content-Range in 2.8 (202)', /^expected \[ 400, 416 \] to include 202/, `PATCH /v2/<name>/blobs/uploads/<id> with a malformed Content-Range "${malformed}" → 400 or 416`, async () => {
        const location = await startUpload(url, 'uploads/malformed-range');
        const res = await patch(location, randomBytes(10), malformed);
        expect([400, 416], res.text).toContain(res.status);
        expectOciError(res, res.status, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID', 'SIZE_INVALID']);
      });
    }

    beyondReference('ignores Content-Range in 2.8 (202); its range checks came with Distribution 3', /^202 : expected 202 to be 400/, 'PATCH /v2/<name>/blobs/uploads/<id> whose Content-Length differs from its Content-Range → 400 SIZE_INVALID, nothing appended', async () => {
      const location = await startUpload(url, 'uploads/length-mismatch');
      const res = await patch(location, randomBytes(5), '0-9');
      expectOciError(res, 400, 'SIZE_INVALID');
      const status = await http(url).get(location);
      expect(status.status).toBe(204);
      expect(status.headers.range).toBe('0-0');
    });
  });

  describe('GET status', () => {
    it('GET /v2/<name>/blobs/uploads/<id> after 10 bytes → 204 with Range 0-9, Location and Docker-Upload-UUID', async () => {
      const location = await startUpload(url, 'uploads/status');
      const patched = await patch(location, randomBytes(10));
      const res = await http(url).get(pathOf(patched.headers.location));
      expect(res.status).toBe(204);
      expect(res.headers.range).toBe('0-9');
      expect(res.headers['docker-upload-uuid']).toBe(uuidOf(location));
      expect(new URL(res.headers.location as string, url).pathname).toBe(new URL(location, url).pathname);
    });
  });

  describe('PUT', () => {
    it('PUT /v2/<name>/blobs/uploads/<id>?digest= with the final chunk after a PATCH → 201, the blob is both parts', async () => {
      const bytes = randomBytes(4096);
      const patched = await patch(await startUpload(url, 'uploads/final-chunk'), bytes.subarray(0, 1000));
      const put = await finish(pathOf(patched.headers.location), digestOf(bytes), bytes.subarray(1000));
      expect(put.status, put.text).toBe(201);
      expect(new URL(put.headers.location as string, url).pathname).toBe(`/v2/uploads/final-chunk/blobs/${digestOf(bytes)}`);
      expect(put.headers['docker-content-digest']).toBe(digestOf(bytes));
      await expectBlob('uploads/final-chunk', bytes);
    });

    it('PUT /v2/<name>/blobs/uploads/<id>?digest= with a final chunk and its Content-Range → 201, the blob is both parts', async () => {
      const bytes = randomBytes(3000);
      const patched = await patch(await startUpload(url, 'uploads/final-range'), bytes.subarray(0, 1200), '0-1199');
      const put = await http(url)
        .put(withQuery(pathOf(patched.headers.location), { digest: digestOf(bytes) }))
        .set('Content-Type', 'application/octet-stream')
        .set('Content-Range', '1200-2999')
        .send(bytes.subarray(1200));
      expect(put.status, put.text).toBe(201);
      await expectBlob('uploads/final-range', bytes);
    });

    it('PUT /v2/<name>/blobs/uploads/<id>?digest= with the whole blob and no PATCH (monolithic) → 201', async () => {
      const bytes = randomBytes(777);
      const put = await finish(await startUpload(url, 'uploads/monolithic'), digestOf(bytes), bytes);
      expect(put.status, put.text).toBe(201);
      await expectBlob('uploads/monolithic', bytes);
    });

    it('PUT /v2/<name>/blobs/uploads/<id> without ?digest= → 400 DIGEST_INVALID', async () => {
      const location = await startUpload(url, 'uploads/no-digest');
      const res = await http(url).put(location).set('Content-Type', 'application/octet-stream').send(randomBytes(10));
      expectOciError(res, 400, 'DIGEST_INVALID');
    });

    it('PUT /v2/<name>/blobs/uploads/<id>?digest= whose body does not match → 400 DIGEST_INVALID, and no blob is visible', async () => {
      const bytes = randomBytes(2000);
      const claimed = digestOf(randomBytes(2000));
      const res = await finish(await startUpload(url, 'uploads/mismatch'), claimed, bytes);
      expectOciError(res, 400, 'DIGEST_INVALID');
      await expectNoBlob('uploads/mismatch', claimed);
      await expectNoBlob('uploads/mismatch', digestOf(bytes));
    });

    it('PUT /v2/<name>/blobs/uploads/<id>?digest= of a finished upload → 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const bytes = randomBytes(100);
      const location = await startUpload(url, 'uploads/finished-twice');
      expect((await finish(location, digestOf(bytes), bytes)).status).toBe(201);
      expectOciError(await finish(location, digestOf(bytes), bytes), 404, 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('DELETE', () => {
    it('DELETE /v2/<name>/blobs/uploads/<id> → 204, then GET and PATCH of the session → 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const location = pathOf((await patch(await startUpload(url, 'uploads/cancel'), randomBytes(10))).headers.location);
      const res = await http(url).delete(location);
      expect(res.status, res.text).toBe(204);
      expect(existsSync(join(uploadsDir('uploads/cancel'), uuidOf(location), 'data'))).toBe(false);
      expectOciError(await http(url).get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectOciError(await patch(location, randomBytes(10)), 404, 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('the session state', () => {
    it('GET /v2/<name>/blobs/uploads/<id> with a tampered _state → refused with BLOB_UPLOAD_INVALID or BLOB_UPLOAD_UNKNOWN', async () => {
      const location = await startUpload(url, 'uploads/tampered');
      const parsed = new URL(location, 'http://x');
      const state = parsed.searchParams.get('_state')!;
      // Flip one character in the middle: a token whose signature no longer matches its payload.
      const middle = Math.floor(state.length / 2);
      const flipped = state.slice(0, middle) + (state[middle] === 'A' ? 'B' : 'A') + state.slice(middle + 1);
      const res = await http(url).get(withQuery(location, { _state: flipped }));
      expect([400, 404]).toContain(res.status);
      expectOciError(res, res.status, ['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN']);
    });

    it('PATCH /v2/<name>/blobs/uploads/<id> with another session\'s _state → refused, neither session changes', async () => {
      const mine = await startUpload(url, 'uploads/foreign');
      const theirs = await startUpload(url, 'uploads/foreign');
      const theirState = new URL(theirs, 'http://x').searchParams.get('_state')!;
      const res = await patch(withQuery(mine, { _state: theirState }), randomBytes(10));
      expect([400, 404]).toContain(res.status);
      expectOciError(res, res.status, ['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN']);
      expect((await http(url).get(theirs)).headers.range).toBe('0-0');
    });

    it('GET /v2/<name>/blobs/uploads/<id> of a session of another repository → refused', async () => {
      const location = await startUpload(url, 'uploads/owner');
      const res = await http(url).get(location.replace('/v2/uploads/owner/', '/v2/uploads/intruder/'));
      expect([400, 404]).toContain(res.status);
      expectOciError(res, res.status, ['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN']);
    });
  });

  describe('failures midway', () => {
    beyondReference(
      'a cut-off PATCH ends the session: 404 BLOB_UPLOAD_INVALID',
      /^\{"errors":\[\{"code":"BLOB_UPLOAD_INVALID"[\s\S]*: expected 404 to be 204/,
      'PATCH /v2/<name>/blobs/uploads/<id> cut off after 10 of 1000 bytes → the session resumes at an offset it really holds, no blob visible before',
      async () => {
        const repo = 'uploads/truncated';
        const whole = randomBytes(1000);
        const first = await patch(await startUpload(url, repo), whole.subarray(0, 5));
        const before = pathOf(first.headers.location);

        await sendTruncatedRequest({
          url,
          method: 'PATCH',
          path: before,
          declaredLength: 995,
          body: whole.subarray(5, 15),
          headers: { 'Content-Type': 'application/octet-stream' },
        });

        for (const prefix of [5, 15, 1000]) await expectNoBlob(repo, digestOf(whole.subarray(0, prefix)));
        const status = await http(url).get(before);
        expect(status.status, status.text).toBe(204);
        // The session may keep what arrived, but the Range it reports must be the truth:
        // resuming from there must give exactly the intended blob.
        const match = /^0-(\d+)$/.exec(status.headers.range as string);
        expect(match, `Range ${status.headers.range}`).not.toBeNull();
        const offset = Number(match![1]) + 1;
        expect(offset).toBeGreaterThanOrEqual(5);
        expect(offset).toBeLessThanOrEqual(15);
        const rest = await patch(pathOf(status.headers.location), whole.subarray(offset), `${offset}-${whole.length - 1}`);
        expect(rest.status, rest.text).toBe(202);
        const put = await finish(pathOf(rest.headers.location), digestOf(whole));
        expect(put.status, put.text).toBe(201);
        await expectBlob(repo, whole);
      },
    );

    it('PUT /v2/<name>/blobs/uploads/<id>?digest= cut off mid-body → no blob visible, and a later full push succeeds', async () => {
      const repo = 'uploads/truncated-put';
      const whole = randomBytes(1000);
      const location = await startUpload(url, repo);
      await sendTruncatedRequest({
        url,
        method: 'PUT',
        path: withQuery(location, { digest: digestOf(whole) }),
        declaredLength: whole.length,
        body: whole.subarray(0, 10),
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      await expectNoBlob(repo, digestOf(whole));
      await expectNoBlob(repo, digestOf(whole.subarray(0, 10)));
      await pushBlob(url, repo, whole);
      await expectBlob(repo, whole);
    });
  });

  describe('concurrency', () => {
    it('POST+PUT of the same blob by two clients at once → both 201, the blob answers once whole', async () => {
      const bytes = randomBytes(512 * 1024);
      const [a, b] = await Promise.all([startUpload(url, 'uploads/race'), startUpload(url, 'uploads/race')]);
      const [putA, putB] = await Promise.all([finish(a, digestOf(bytes), bytes), finish(b, digestOf(bytes), bytes)]);
      expect(putA.status, putA.text).toBe(201);
      expect(putB.status, putB.text).toBe(201);
      await expectBlob('uploads/race', bytes);
    });

    it('PATCH of the same blob in two repositories at once → both 201, each repository answers', async () => {
      const bytes = randomBytes(256 * 1024);
      const push = async (repo: string) => {
        const patched = await patch(await startUpload(url, repo), bytes);
        return finish(pathOf(patched.headers.location), digestOf(bytes));
      };
      const results = await Promise.all([push('uploads/race-a'), push('uploads/race-b')]);
      for (const res of results) expect(res.status, res.text).toBe(201);
      await expectBlob('uploads/race-a', bytes);
      await expectBlob('uploads/race-b', bytes);
    });
  });

  describe('the storage layout', () => {
    it('PUT /v2/<name>/blobs/uploads/<id>?digest= → blobs/sha256/<2>/<hex>/data and _layers/sha256/<hex>/link exist; no _uploads/<id> left', async () => {
      const repo = 'uploads/layout';
      const bytes = randomBytes(4321);
      const digest = digestOf(bytes);
      const hex = hexOf(digest);
      const location = await startUpload(url, repo);
      const patched = await patch(location, bytes.subarray(0, 1000));
      // While the session runs, its bytes sit under _uploads/<id>/data (Distribution's layout).
      const session = join(uploadsDir(repo), uuidOf(location));
      expect((await stat(join(session, 'data'))).size).toBe(1000);
      expect((await finish(pathOf(patched.headers.location), digest, bytes.subarray(1000))).status).toBe(201);

      const v2 = join(registry.root, 'docker/registry/v2');
      expect(Buffer.compare(await readFile(join(v2, 'blobs/sha256', hex.slice(0, 2), hex, 'data')), bytes)).toBe(0);
      expect(await readFile(join(v2, 'repositories', repo, '_layers/sha256', hex, 'link'), 'utf8')).toBe(digest);
      expect(existsSync(session)).toBe(false);
    });
  });
});
