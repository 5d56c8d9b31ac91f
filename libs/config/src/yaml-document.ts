import yaml from 'js-yaml';

/**
 * YAML as the reference reads it into typed fields: every scalar stays the text that was
 * written (yaml.v2 hands a string field the scalar's source text), so a password such as
 * `0123` or `5813400000000001` is never turned into a number and back. `~`, `null` and an
 * empty value are null; `<<` merges work. Each key's schema then reads its own type from the text.
 */
// js-yaml exports its built-in types as `types`; @types/js-yaml 4 does not declare it.
const builtInTypes = (yaml as unknown as { types: { null: yaml.Type; merge: yaml.Type } }).types;
const textSchema = yaml.FAILSAFE_SCHEMA.extend({ implicit: [builtInTypes.null, builtInTypes.merge] });

export type YamlParseResult = { ok: true; value: unknown } | { ok: false; message: string };

export function parseYaml(text: string, filename: string): YamlParseResult {
  try {
    return { ok: true, value: yaml.load(text, { schema: textSchema, filename }) };
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const where = error.mark ? `line ${error.mark.line + 1}, column ${error.mark.column + 1}: ` : '';
      return { ok: false, message: `${where}${error.reason}` };
    }
    throw error;
  }
}

/** YAML text out, in the same dialect: what `printConfig` writes loads back unchanged. */
export function dumpYaml(value: unknown): string {
  return yaml.dump(value, { noRefs: true, lineWidth: -1, sortKeys: false });
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `a mapping`, `a list`, `"text"`: the value as a message shows it. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'a mapping';
}
