/** The actions a rule grants on a repository, as the token's `access` entries name them. */
export type RepositoryAction = 'pull' | 'push' | 'delete';
const ALL_ACTIONS: readonly RepositoryAction[] = ['pull', 'push', 'delete'];

export interface RepositoryRule {
  /** Name globs: `*` within one path component, `**` across components (`team/**`), `?` one character. */
  repositories: readonly string[];
  /** User names; `*` is every user the htpasswd file knows. */
  users: readonly string[];
  /** `pull`, `push` (which implies pull: a push needs both), `delete`, or `*` for all. */
  actions: readonly string[];
}

export interface AccessPolicy {
  rules: readonly RepositoryRule[];
  admins: readonly string[];
  /** Anyone, logged in or not, may pull every repository. */
  anonymousPull: boolean;
}

/** A requested or granted resource: `type:name:action,action`. */
export interface ScopeEntry {
  type: string;
  name: string;
  actions: string[];
}

/** `*` → `[^/]*`, `**` → `.*`, `?` → `[^/]`, the rest literal; the whole name must match. */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/**
 * Parses `scope` values as the reference's token server reads them (docs/spec/auth/scope.md):
 * type up to the first `:`, actions after the last, the name between (it may hold a `:`, as a
 * registry host with a port does). Malformed entries are dropped: a token grants less, never fails.
 */
export function parseScopes(values: readonly string[]): ScopeEntry[] {
  const entries: ScopeEntry[] = [];
  for (const value of values.flatMap((scope) => scope.split(' '))) {
    const first = value.indexOf(':');
    const last = value.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const name = value.slice(first + 1, last);
    if (name === '') continue;
    entries.push({ type: value.slice(0, first), name, actions: value.slice(last + 1).split(',').filter((action) => action !== '') });
  }
  return entries;
}

/**
 * Who may do what: the actions `user` (undefined: anonymous) holds on each requested resource,
 * intersected with what was asked (the spec's rule: grant a subset, never fail). `*` asked
 * (podman's delete) is granted as `*` when every action is allowed, else as the allowed ones.
 * The catalog (`registry:catalog:*`) is for admins.
 */
export class RepositoryRules {
  private readonly rules: { repositories: RegExp[]; users: Set<string>; actions: Set<RepositoryAction> }[];
  private readonly admins: Set<string>;

  constructor(private readonly policy: AccessPolicy) {
    this.rules = policy.rules.map((rule) => ({
      repositories: rule.repositories.map(globToRegExp),
      users: new Set(rule.users),
      actions: new Set(rule.actions.flatMap((action): RepositoryAction[] => (action === '*' ? [...ALL_ACTIONS] : action === 'push' ? ['push', 'pull'] : [action as RepositoryAction]))),
    }));
    this.admins = new Set(policy.admins);
  }

  grant(user: string | undefined, requested: readonly ScopeEntry[]): ScopeEntry[] {
    const granted: ScopeEntry[] = [];
    for (const entry of requested) {
      const actions = this.actionsFor(user, entry);
      if (actions.length > 0) granted.push({ type: entry.type, name: entry.name, actions });
    }
    return granted;
  }

  private actionsFor(user: string | undefined, entry: ScopeEntry): string[] {
    const admin = user !== undefined && this.admins.has(user);
    if (entry.type === 'registry') return admin && entry.name === 'catalog' && entry.actions.includes('*') ? ['*'] : [];
    if (entry.type !== 'repository') return [];
    const allowed = new Set<RepositoryAction>(admin ? ALL_ACTIONS : []);
    if (this.policy.anonymousPull) allowed.add('pull');
    if (user !== undefined) {
      for (const rule of this.rules) {
        if (!(rule.users.has(user) || rule.users.has('*'))) continue;
        if (!rule.repositories.some((glob) => glob.test(entry.name))) continue;
        for (const action of rule.actions) allowed.add(action);
      }
    }
    const actions: string[] = [];
    for (const asked of new Set(entry.actions)) {
      if (asked === '*') {
        if (ALL_ACTIONS.every((action) => allowed.has(action))) actions.push('*');
        else actions.push(...ALL_ACTIONS.filter((action) => allowed.has(action) && !entry.actions.includes(action)));
      } else if (allowed.has(asked as RepositoryAction)) actions.push(asked);
    }
    return [...new Set(actions)];
  }
}
