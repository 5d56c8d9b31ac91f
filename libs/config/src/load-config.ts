import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from './config-error';
import { deepFreeze } from './deep-freeze';
import { applyEnvOverrides } from './env-overrides';
import { issueProblems } from './issue-problems';
import { rememberSecrets } from './mask-secrets';
import { type BerthConfig, configSchema, supportedVersion, versionSection } from './schema/config.schema';
import { isMapping, parseYaml } from './yaml-document';

export interface LoadOptions {
  /** Where notes about ignored variables and deprecated keys go; `process.emitWarning` by default. */
  onWarning?: (message: string) => void;
}

export interface LoadedConfig {
  readonly config: BerthConfig;
  readonly warnings: readonly string[];
}

/**
 * Reads the reference registry's `config.yml`, applies `REGISTRY_*` variables from `env`,
 * validates everything and returns the frozen result. Throws `ConfigError` listing every
 * problem. The only reader of registry settings from the environment: everything else is
 * handed the returned object.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): BerthConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ source: file, key: '', message: `cannot read the configuration: ${reason}` }]);
  }
  return loadConfigFromString(text, file, env, options);
}

/** As `loadConfig`, from YAML text; `source` names it in messages. */
export function loadConfigFromString(
  yamlText: string,
  source = 'config.yml',
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): BerthConfig {
  const { config, warnings } = parseConfig(yamlText, source, env);
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'BerthConfigWarning'));
  for (const warning of warnings) warn(warning);
  return config;
}

/** The configuration and the warnings about it, without reporting them anywhere. */
export function parseConfig(yamlText: string, source: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const parsed = parseYaml(yamlText, source);
  if (!parsed.ok) throw new ConfigError([{ source, key: '', message: `not valid YAML: ${parsed.message}` }]);
  const document = parsed.value;
  if (!isMapping(document)) {
    const what = document === undefined || document === null ? 'the file is empty' : 'the file is not a YAML mapping';
    throw new ConfigError([{ source, key: '', message: `${what}: a configuration starts with version: ${supportedVersion} and names a storage driver` }]);
  }
  // Checked before anything else, as the reference does: other keys mean nothing in another version.
  if (document.version !== supportedVersion) {
    const problem = versionSection.safeParse(document.version, { reportInput: true });
    const message = problem.success ? 'unsupported version' : (problem.error.issues[0]?.message ?? 'unsupported version');
    throw new ConfigError([{ source, key: 'version', message }]);
  }

  nameSingleEntry(document, 'storage');
  nameSingleEntry(document, 'auth');
  const overrides = applyEnvOverrides(document, env);
  const problems: ConfigProblem[] = [...overrides.problems];
  const cleaned = withoutEmptyKeys(document, []) as Record<string, unknown>;

  const describeStorageKey = (key: string): string => {
    const variable = overrides.origins.of(['storage', key]);
    return variable === undefined ? key : `${key} (from ${variable})`;
  };
  const result = configSchema(describeStorageKey).safeParse(cleaned, { reportInput: true });
  if (!result.success) problems.push(...issueProblems(result.error.issues, source, overrides.origins));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  rememberSecrets(result.data);
  return { config: deepFreeze(result.data), warnings: [...overrides.warnings, ...deprecations(cleaned, source)] };
}

/** `storage: inmemory`, `auth: silly`: a bare name is that one entry with no parameters (the reference's UnmarshalYAML). */
function nameSingleEntry(document: Record<string, unknown>, key: string): void {
  const value = document[key];
  if (typeof value === 'string' && value !== '') document[key] = { [value]: {} };
}

/**
 * `key:` with nothing after it means "not set", as a zero value does for the reference,
 * except where the key's presence is the setting: a storage driver or auth provider with no
 * parameters (`inmemory:`).
 */
function withoutEmptyKeys(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((entry) => withoutEmptyKeys(entry, []));
  if (!isMapping(value)) return value;
  const presenceMatters = path.length === 1 && (path[0] === 'storage' || path[0] === 'auth');
  const kept: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === null && !presenceMatters) continue;
    kept[key] = withoutEmptyKeys(inner, [...path, key]);
  }
  return kept;
}

function deprecations(document: Record<string, unknown>, source: string): string[] {
  const warnings: string[] = [];
  const at = (...path: string[]): unknown =>
    path.reduce<unknown>((value, key) => (isMapping(value) ? value[key] : undefined), document);
  if (at('loglevel') !== undefined) warnings.push(`${source}: loglevel is deprecated: use log.level`);
  if (at('storage', 'cache', 'layerinfo') !== undefined) {
    warnings.push(`${source}: storage.cache.layerinfo is deprecated: use storage.cache.blobdescriptor`);
  }
  if (at('validation', 'enabled') !== undefined) {
    warnings.push(`${source}: validation.enabled is deprecated and ignored: use validation.disabled`);
  }
  return warnings;
}
