/**
 * The v2 routes in one place (Distribution's registry/api/v2/routes.go). A repository
 * name may itself contain `/`, so each route anchors on its suffix and takes the name
 * lazily; the name is validated against the spec's grammar afterwards, by the handler.
 * Upload routes come before the blob route, which would otherwise claim `uploads`.
 */
export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploadStart'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'referrers'; name: string; digest: string };

const table: [RegExp, (m: Record<string, string>) => Route][] = [
  // The API version check every client makes first (distribution-spec "end-1").
  [/^\/v2\/?$/, () => ({ kind: 'base' })],
  [/^\/v2\/_catalog$/, () => ({ kind: 'catalog' })],
  [/^\/v2\/(?<name>.+?)\/tags\/list$/, (m) => ({ kind: 'tags', name: m.name! })],
  [/^\/v2\/(?<name>.+?)\/manifests\/(?<reference>[^/]+)$/, (m) => ({ kind: 'manifest', name: m.name!, reference: m.reference! })],
  [/^\/v2\/(?<name>.+?)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploadStart', name: m.name! })],
  [/^\/v2\/(?<name>.+?)\/blobs\/uploads\/(?<id>[^/]+)$/, (m) => ({ kind: 'upload', name: m.name!, id: m.id! })],
  [/^\/v2\/(?<name>.+?)\/blobs\/(?<digest>[^/]+)$/, (m) => ({ kind: 'blob', name: m.name!, digest: m.digest! })],
  [/^\/v2\/(?<name>.+?)\/referrers\/(?<digest>[^/]+)$/, (m) => ({ kind: 'referrers', name: m.name!, digest: m.digest! })],
];

/** The route of a request path (without the query), or `undefined` when none matches. */
export function matchRoute(path: string): Route | undefined {
  for (const [pattern, build] of table) {
    const match = pattern.exec(path);
    if (match) return build(match.groups ?? {});
  }
  return undefined;
}

const matchedRoute = Symbol('berth.route');

/**
 * The route of `req` (its path `path`), matched once per request however many ask (the request
 * metrics, then the controller): a match tries the table's patterns in turn, microseconds each.
 */
export function routeOfRequest(req: object, path: string): Route | undefined {
  const memo = req as { [matchedRoute]?: Route | null };
  let route = memo[matchedRoute];
  if (route === undefined) {
    route = matchRoute(path) ?? null;
    memo[matchedRoute] = route;
  }
  return route ?? undefined;
}
