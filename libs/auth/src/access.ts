/**
 * Which access each request needs, in one place: the reference's `appendAccessRecords` and
 * `appendCatalogAccessRecord` (registry/handlers/app.go), which token services grant by and
 * which every challenge names.
 *
 * | request                                         | access                                      |
 * |-------------------------------------------------|---------------------------------------------|
 * | GET/HEAD on /v2/<name>/...                      | repository:<name>:pull                      |
 * | POST/PUT/PATCH on /v2/<name>/...                | repository:<name>:pull and push             |
 * | DELETE on a manifest, a blob or an upload       | repository:<name>:delete                    |
 * | ...?from=<src> (a cross-repository mount)       | the above and repository:<src>:pull         |
 * | GET /v2/_catalog                                | registry:catalog:* (the action is `*`)      |
 * | /v2/                                            | nothing: any authenticated caller           |
 */
export interface AccessRecord {
  /** `repository` or `registry`. */
  readonly type: string;
  readonly name: string;
  /** `pull`, `push`, `delete`, or `*` for the catalog. */
  readonly action: string;
}

/** What a request is, as far as access goes: the route's kind and repository, the method, the mount source. */
export interface AccessTarget {
  readonly kind: 'base' | 'catalog' | 'repository';
  /** The repository as written in the path (auth runs before the name is validated, as in the reference). */
  readonly name?: string;
  readonly method: string;
  /** `from` of a blob mount. */
  readonly mountFrom?: string | null;
}

export function requiredAccess(target: AccessTarget): AccessRecord[] {
  switch (target.kind) {
    case 'base':
      return [];
    case 'catalog':
      return [{ type: 'registry', name: 'catalog', action: '*' }];
    case 'repository': {
      const name = target.name ?? '';
      const records: AccessRecord[] = [];
      const repository = (action: string) => records.push({ type: 'repository', name, action });
      switch (target.method) {
        case 'GET':
        case 'HEAD':
          repository('pull');
          break;
        case 'DELETE':
          repository('delete');
          break;
        default:
          // POST, PUT, PATCH, and any other method the router will refuse: write access, as the reference.
          repository('pull');
          repository('push');
      }
      if (target.mountFrom) records.push({ type: 'repository', name: target.mountFrom, action: 'pull' });
      return records;
    }
  }
}

/**
 * The `scope` of a Bearer challenge: one `type:name:actions` entry per resource, actions in the
 * order first needed (the reference's order is a Go map's, hence random; one order helps tests
 * and caches). `repository:dst:pull,push repository:src:pull`.
 */
export function scopeOf(access: readonly AccessRecord[]): string {
  const resources = new Map<string, string[]>();
  for (const record of access) {
    const key = `${record.type}:${record.name}`;
    const actions = resources.get(key) ?? [];
    if (!actions.includes(record.action)) actions.push(record.action);
    resources.set(key, actions);
  }
  return [...resources].map(([resource, actions]) => `${resource}:${actions.join(',')}`).join(' ');
}

/** The `detail` of a 401, as the reference writes it (`auth.Access` with Go's field names); null on `/v2/`. */
export function accessDetail(access: readonly AccessRecord[]): unknown {
  if (access.length === 0) return null;
  return access.map((record) => ({ Type: record.type, Class: '', Name: record.name, Action: record.action }));
}
