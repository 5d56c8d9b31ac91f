import { describe, expect, it } from 'vitest';
import { matchRoute } from './routes';

describe('matchRoute', () => {
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/a/b/tags/list', { kind: 'tags', name: 'a/b' }],
    ['/v2/library/busybox/manifests/latest', { kind: 'manifest', name: 'library/busybox', reference: 'latest' }],
    ['/v2/x/blobs/uploads/', { kind: 'uploadStart', name: 'x' }],
    ['/v2/x/blobs/uploads', { kind: 'uploadStart', name: 'x' }],
    ['/v2/x/blobs/uploads/1234', { kind: 'upload', name: 'x', id: '1234' }],
    ['/v2/x/blobs/sha256:ab', { kind: 'blob', name: 'x', digest: 'sha256:ab' }],
    ['/v2/x/y/referrers/sha256:ab', { kind: 'referrers', name: 'x/y', digest: 'sha256:ab' }],
    // A name may contain a route word as a component.
    ['/v2/blobs/manifests/manifests/v1', { kind: 'manifest', name: 'blobs/manifests', reference: 'v1' }],
  ])('%s', (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });

  it.each(['/v2//', '/v2/x', '/v2/x/manifests/', '/v2/x/blobs/a/b', '/v1/x/tags/list'])('%s → no route', (path) => {
    expect(matchRoute(path)).toBeUndefined();
  });
});
