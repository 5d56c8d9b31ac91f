import { OciError } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { pageOf } from './pagination';

describe('pageOf (tag list and catalog pagination)', () => {
  it.each([
    ['', { n: 100 }],
    ['n=10', { n: 10 }],
    ['n=0', { n: 0 }],
    // The spec lets a registry return fewer than asked: catalog.maxentries bounds every page.
    ['n=1000', { n: 100 }],
    ['n=5&last=v1.0', { n: 5, last: 'v1.0' }],
    ['last=library%2Fbusybox', { n: 100, last: 'library/busybox' }],
    ['last=', { n: 100 }],
  ])('?%s → %o', (query, page) => {
    expect(pageOf(new URLSearchParams(query), 100)).toEqual(page);
  });

  it.each(['-1', '1.5', 'ten', '', ' 5'])('n=%j is PAGINATION_NUMBER_INVALID', (n) => {
    let error: unknown;
    try {
      pageOf(new URLSearchParams({ n }), 100);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OciError);
    expect(error).toMatchObject({ code: 'PAGINATION_NUMBER_INVALID', status: 400, detail: `n=${JSON.stringify(n)} is not a non-negative integer` });
  });
});
