import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOciError, http, pushImage, pushManifest } from './support/registry-client';
import { beyondReference, type RegistryUnderTest, startRegistryUnderTest } from './support/registry-under-test';

/** The next page's path and query from `Link: <...>; rel="next"`, or `undefined` when there is none. */
function nextLink(res: Response): { path: string; n: string | null; last: string | null } | undefined {
  const header = res.headers.link;
  if (header === undefined) return undefined;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(header);
  expect(match, `Link: ${header}`).not.toBeNull();
  const target = new URL(match![1]!, 'http://x');
  return {
    path: `${target.pathname}${target.search}`,
    n: target.searchParams.get('n'),
    last: target.searchParams.get('last'),
  };
}

// distribution-spec v1.1 "Listing tags" and the catalog (Distribution's /v2/_catalog), with
// `n`/`last` pagination and RFC 8288 Link headers. This file's registry holds only the
// repositories pushed here, so the catalog is known exactly.
describe('tag lists and the catalog', () => {
  let registry: RegistryUnderTest;
  let url: string;
  const repos = ['catalog/alpha', 'catalog/beta', 'catalog/gamma'];
  const tags = ['v2', 'latest', '1.0', 'v10', 'beta', 'V3'];

  beforeAll(async () => {
    registry = await startRegistryUnderTest();
    url = registry.url;
    const image = await pushImage(url, repos[0]!, tags[0]);
    for (const tag of tags.slice(1)) await pushManifest(url, repos[0]!, tag, image.mediaType, image.bytes);
    // Pushed out of order: listings must sort, not echo the order of arrival.
    await pushImage(url, repos[2]!, 'v1');
    await pushImage(url, repos[1]!, 'v1');
  });

  afterAll(async () => {
    await registry?.stop();
  });

  /**
   * The spec asks for "lexical (case-insensitive alphanumeric) order"; its conformance suite
   * also takes byte order, as registries have long used. Either is accepted; pages must then
   * follow the order the full list uses.
   */
  const byteOrder = [...tags].sort();
  const caseInsensitiveOrder = [...tags].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  async function fullTagList(): Promise<string[]> {
    const res = await http(url).get(`/v2/${repos[0]}/tags/list`);
    expect(res.status).toBe(200);
    return (JSON.parse(res.text) as { tags: string[] }).tags;
  }

  describe('GET /v2/<name>/tags/list', () => {
    beyondReference('2.8 lists tags in directory order', /^expected \[ \[.*\] to deep equally contain \[/, 'GET /v2/<name>/tags/list → 200 {name, tags} in lexical order', async () => {
      const res = await http(url).get(`/v2/${repos[0]}/tags/list`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const listed = JSON.parse(res.text) as { name: string; tags: string[] };
      expect(listed.name).toBe(repos[0]);
      expect([byteOrder, caseInsensitiveOrder]).toContainEqual(listed.tags);
      expect(res.headers.link).toBeUndefined();
    });

    beyondReference('2.8 ignores n and last on tag lists', /^expected \{ name: 'catalog\/alpha', …\(1\) \} to deeply equal \{ name: 'catalog\/alpha', …\(1\) \}/, 'GET /v2/<name>/tags/list?n=2 → the first 2 tags and a Link to the rest; following the Links gives every tag once', async () => {
      const sorted = await fullTagList();
      const first = await http(url).get(`/v2/${repos[0]}/tags/list?n=2`);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.text)).toEqual({ name: repos[0], tags: sorted.slice(0, 2) });
      const link = nextLink(first);
      expect(link).toMatchObject({ n: '2', last: sorted[1] });
      expect(link!.path.startsWith(`/v2/${repos[0]}/tags/list?`)).toBe(true);

      const seen = [...(JSON.parse(first.text) as { tags: string[] }).tags];
      let next = link;
      for (let page = 0; next !== undefined && page < 10; page++) {
        const res = await http(url).get(next.path);
        expect(res.status).toBe(200);
        const listed = (JSON.parse(res.text) as { tags: string[] }).tags;
        expect(listed.length).toBeLessThanOrEqual(2);
        seen.push(...listed);
        next = nextLink(res);
      }
      expect(seen).toEqual(sorted);
    });

    beyondReference('2.8 ignores n and last on tag lists', /^expected \[ (?:'[^']+', ){4}…\(2\) \] to deeply equal \[ '[^']+', '[^']+' \]/, 'GET /v2/<name>/tags/list?n=2&last=<tag> → the 2 tags after it', async () => {
      const sorted = await fullTagList();
      const res = await http(url).get(`/v2/${repos[0]}/tags/list?n=2&last=${sorted[2]}`);
      expect(res.status).toBe(200);
      expect((JSON.parse(res.text) as { tags: string[] }).tags).toEqual(sorted.slice(3, 5));
    });

    beyondReference('2.8 ignores n and last on tag lists', /^expected \[ (?:'[^']+', ){4}…\(2\) \] to deeply equal \[\]/, 'GET /v2/<name>/tags/list?last=<the last tag> → 200 with no tags and no Link', async () => {
      const sorted = await fullTagList();
      const res = await http(url).get(`/v2/${repos[0]}/tags/list?last=${sorted.at(-1)}`);
      expect(res.status).toBe(200);
      expect((JSON.parse(res.text) as { tags: string[] | null }).tags ?? []).toEqual([]);
      expect(res.headers.link).toBeUndefined();
    });

    it('GET /v2/<name>/tags/list of an unknown repository → 404 NAME_UNKNOWN', async () => {
      expectOciError(await http(url).get('/v2/catalog/nothing-here/tags/list'), 404, 'NAME_UNKNOWN');
    });

    for (const n of ['abc', '-1', '1.5']) {
      beyondReference('2.8 ignores n on tag lists (200)', /^200 \{"name":"catalog\/alpha","tags":\[/, `GET /v2/<name>/tags/list?n=${n} → 400 PAGINATION_NUMBER_INVALID`, async () => {
        expectOciError(await http(url).get(`/v2/${repos[0]}/tags/list?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
      });
    }
  });

  describe('GET /v2/_catalog', () => {
    it('GET /v2/_catalog → 200 {repositories} in lexical order', async () => {
      const res = await http(url).get('/v2/_catalog');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({ repositories: repos });
    });

    it('GET /v2/_catalog?n=2 → 2 repositories and Link </v2/_catalog?n=2&last=...>; rel="next"; the next page ends the list', async () => {
      const first = await http(url).get('/v2/_catalog?n=2');
      expect(first.status).toBe(200);
      expect(JSON.parse(first.text)).toEqual({ repositories: repos.slice(0, 2) });
      const link = nextLink(first);
      expect(link).toMatchObject({ n: '2', last: repos[1] });
      expect(link!.path.startsWith('/v2/_catalog?')).toBe(true);

      const second = await http(url).get(link!.path);
      expect(second.status).toBe(200);
      expect(JSON.parse(second.text)).toEqual({ repositories: repos.slice(2) });
      expect(second.headers.link).toBeUndefined();
    });

    it('GET /v2/_catalog?last=<a repository> → the repositories after it', async () => {
      const res = await http(url).get(`/v2/_catalog?last=${repos[0]}`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ repositories: repos.slice(1) });
    });

    for (const n of ['abc', '-1']) {
      beyondReference('2.8 takes a bad n for the default page size (200)', /^200 \{"repositories":\["catalog\/alpha","catalog\/beta","catalog\/gamma"\]\}/, `GET /v2/_catalog?n=${n} → 400 PAGINATION_NUMBER_INVALID`, async () => {
        expectOciError(await http(url).get(`/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
      });
    }
  });
});
