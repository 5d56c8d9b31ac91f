import { OciError } from '@berth/oci';

/** `n` (at most `max`; the spec lets a registry return fewer) and `last` from the query. */
export function pageOf(query: URLSearchParams, max: number): { n?: number; last?: string } {
  const n = query.get('n');
  const last = query.get('last');
  const page: { n?: number; last?: string } = {};
  if (n !== null) {
    if (!/^\d+$/.test(n)) {
      throw new OciError('PAGINATION_NUMBER_INVALID', `n=${JSON.stringify(n)} is not a non-negative integer`);
    }
    page.n = Math.min(Number(n), max);
  } else {
    page.n = max;
  }
  if (last) page.last = last;
  return page;
}
