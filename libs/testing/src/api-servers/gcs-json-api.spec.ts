import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsJsonApiServer } from './gcs-json-api-server';

const BUCKET = 'bucket';

describe('GCS JSON API test server', () => {
  let server: GcsJsonApiServer;
  beforeAll(async () => {
    server = await GcsJsonApiServer.start({ buckets: [BUCKET] });
  });
  afterAll(() => server.stop());

  const objectUrl = (name: string) => `${server.url}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`;

  /** A resumable session for `name`: `finish(text)` makes `text` its new generation. */
  async function startPut(name: string): Promise<{ finish(text: string): Promise<Response> }> {
    const started = await fetch(`${server.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=${encodeURIComponent(name)}`, { method: 'POST', body: '{}' });
    expect(started.status).toBe(200);
    const session = started.headers.get('location')!;
    return {
      finish(text) {
        const bytes = Buffer.from(text);
        return fetch(session, { method: 'PUT', body: bytes, headers: { 'content-range': `bytes 0-${bytes.length - 1}/${bytes.length}` } });
      },
    };
  }

  async function read(name: string): Promise<string> {
    const response = await fetch(`${objectUrl(name)}?alt=media`);
    expect(response.status).toBe(200);
    return response.text();
  }

  // A generation replaced while a request reads it loses its file: a read must hold one
  // generation's file open, not open it by path after an await (which answered 500).
  it('composes and rewrites from one generation of a source replaced meanwhile', async () => {
    const versions = Array.from({ length: 30 }, (_, n) => `version ${String(n).padStart(2, '0')} `.repeat(20_000));
    expect((await (await startPut('source')).finish(versions[0]!)).status).toBe(200);
    const sources = Array.from({ length: 8 }, () => ({ name: 'source' }));
    for (let round = 1; round < versions.length; round++) {
      const replacement = await startPut('source');
      const [composed, rewritten, replaced] = await Promise.all([
        fetch(`${objectUrl('composed')}/compose`, { method: 'POST', body: JSON.stringify({ sourceObjects: sources }) }),
        fetch(`${objectUrl('source')}/rewriteTo/b/${BUCKET}/o/rewritten`, { method: 'POST' }),
        replacement.finish(versions[round]!),
      ]);
      expect([composed.status, rewritten.status, replaced.status]).toEqual([200, 200, 200]);
      const either = [versions[round - 1], versions[round]];
      const composedText = await read('composed');
      const size = versions[0]!.length;
      expect(composedText.length).toBe(size * sources.length);
      for (let at = 0; at < composedText.length; at += size) expect(either).toContain(composedText.slice(at, at + size));
      expect(either).toContain(await read('rewritten'));
    }
  });
});
