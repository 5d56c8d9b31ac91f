import type { ConfigProblem } from './config-error';
import { formatKeyPath, type KeyPath } from './key-path';
import { referenceShape, type ShapeNode } from './reference-shape';
import { isMapping, parseYaml } from './yaml-document';

const prefix = 'REGISTRY_';

/** Which variable put a value (or created a section) at a key path: for messages. */
export class EnvOrigins {
  private readonly byPath = new Map<string, string>();

  set(path: KeyPath, variable: string): void {
    this.byPath.set(JSON.stringify(path), variable);
  }

  /** Records `variable` as the creator of `path` unless something already owns it. */
  created(path: KeyPath, variable: string): void {
    const id = JSON.stringify(path);
    if (!this.byPath.has(id)) this.byPath.set(id, variable);
  }

  /** The variable that set `path` or the nearest section above it, if any did. */
  of(path: KeyPath): string | undefined {
    for (let length = path.length; length > 0; length--) {
      const variable = this.byPath.get(JSON.stringify(path.slice(0, length)));
      if (variable !== undefined) return variable;
    }
    return undefined;
  }
}

export interface EnvOverrideResult {
  readonly origins: EnvOrigins;
  readonly problems: ConfigProblem[];
  /** Variables the reference ignores too (with a warning): a misspelt key, Kubernetes' REGISTRY_PORT, … */
  readonly warnings: string[];
}

/**
 * Applies `REGISTRY_*` variables to the parsed document in place, as the reference's
 * parser does: variables sorted by name, so `REGISTRY_STORAGE=s3` (which replaces the whole
 * storage section, maintenance and all) applies before `REGISTRY_STORAGE_S3_BUCKET`; the
 * name minus the prefix split on `_`; each value read as YAML. Where the reference would
 * stop with an error (a list index past the end) this reports a problem; where it ignores a
 * variable with a warning (no such field) this ignores it with a warning.
 *
 * Two deliberate differences: a variable reaching inside a nested mapping of a driver's
 * parameters (REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED with `uploadpurging:` in the
 * file) is applied, where the reference skips it as a "map with non-string keys"; and
 * setting a key of a mapping replaces a spelling of it in another case (an `http.headers`
 * name) instead of adding a second entry.
 */
export function applyEnvOverrides(document: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvOverrideResult {
  const result: EnvOverrideResult = { origins: new EnvOrigins(), problems: [], warnings: [] };
  const names = Object.keys(env)
    .filter((name) => name.startsWith(prefix) && env[name] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const variable of names) {
    const payload = env[variable] ?? '';
    const segments = variable.split('_').slice(1);
    new Override(variable, payload, result).into(document, referenceShape, segments, []);
  }
  return result;
}

type Container = Record<string, unknown> | unknown[];

class Override {
  constructor(
    private readonly variable: string,
    private readonly payload: string,
    private readonly result: EnvOverrideResult,
  ) {}

  /** Resolves `segments` inside `value` (of shape `node`, found at `path`), then sets the payload. */
  into(value: unknown, node: ShapeNode, segments: string[], path: KeyPath): void {
    const [segment = '', ...rest] = segments;
    switch (node.kind) {
      case 'struct': {
        if (!isMapping(value)) return this.ignore(`${formatKeyPath(path)} is not a mapping`);
        const field = node.fields.get(segment);
        if (!field) return this.ignore(noField(node.fields, segment, path));
        return this.step(value, field.key, field.node, rest, [...path, field.key]);
      }
      case 'map': {
        if (!isMapping(value)) return this.ignore(`${formatKeyPath(path)} is not a mapping`);
        const existing = Object.keys(value).filter((key) => key.toUpperCase() === segment);
        if (rest.length > 0) {
          const reusable = existing.find((key) => value[key] !== null && value[key] !== undefined);
          if (reusable !== undefined) return this.into(value[reusable], node.value, rest, [...path, reusable]);
        }
        for (const key of existing) delete value[key];
        return this.step(value, segment.toLowerCase(), node.value, rest, [...path, segment.toLowerCase()]);
      }
      case 'list':
        return this.intoList(value, node.element, segment, rest, path);
      case 'any':
        if (Array.isArray(value)) return this.intoList(value, node, segment, rest, path);
        if (isMapping(value)) return this.into(value, { kind: 'map', value: node }, segments, path);
        return this.ignore(`${formatKeyPath(path)} is a value, not a section`);
      case 'value':
        return this.ignore(`${formatKeyPath(path)} is a value, not a section`);
    }
  }

  private intoList(value: unknown, element: ShapeNode, segment: string, rest: string[], path: KeyPath): void {
    if (!Array.isArray(value)) return this.ignore(`${formatKeyPath(path)} is not a list`);
    if (!/^\d+$/.test(segment)) return this.fail(path, `${JSON.stringify(segment)} is not a list index`);
    const index = Number(segment);
    // The reference's rule: an index may name an existing entry or the one just past the end.
    if (index > value.length) {
      return this.fail(path, `index ${index} is past the end of the list (it has ${value.length} entries)`);
    }
    this.step(value, index, element, rest, [...path, index]);
  }

  /** At `container[key]`: set the payload there, or make room and go deeper. */
  private step(container: Container, key: string | number, node: ShapeNode, rest: string[], path: KeyPath): void {
    const slot = container as Record<string | number, unknown>;
    if (rest.length === 0) {
      const parsed = this.parsePayload(path);
      if (parsed === undefined) return;
      slot[key] = node.kind === 'map' && node.named && typeof parsed.value === 'string' ? { [parsed.value]: {} } : parsed.value;
      this.result.origins.set(path, this.variable);
      return;
    }
    if (node.kind === 'value') return this.ignore(`${formatKeyPath(path)} is a value, not a section`);
    if (slot[key] === undefined || slot[key] === null) {
      slot[key] = node.kind === 'list' ? [] : {};
      this.result.origins.created(path, this.variable);
    }
    this.into(slot[key], node, rest, path);
  }

  private parsePayload(path: KeyPath): { value: unknown } | undefined {
    const parsed = parseYaml(this.payload, this.variable);
    if (!parsed.ok) {
      this.fail(path, `not valid YAML: ${parsed.message}`);
      return undefined;
    }
    return { value: parsed.value ?? null };
  }

  private fail(path: KeyPath, message: string): void {
    this.result.problems.push({ source: this.variable, key: formatKeyPath(path), message });
  }

  private ignore(reason: string): void {
    this.result.warnings.push(`ignoring environment variable ${this.variable}: ${reason}`);
  }
}

function noField(fields: ReadonlyMap<string, { key: string }>, segment: string, path: KeyPath): string {
  const where = path.length === 0 ? 'the configuration' : formatKeyPath(path);
  // The reference matches Go field names: `events` is EventConfig, `file` is FileCheckers.
  for (const [goName, field] of fields) {
    if (field.key.toUpperCase() === segment) {
      return `${where}.${field.key} is named ${goName} in the reference's variables (…_${goName}_…)`;
    }
  }
  return `${where} has no key ${segment.toLowerCase()}`;
}
