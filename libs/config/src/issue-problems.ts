import type { z } from 'zod';
import type { ConfigProblem } from './config-error';
import type { EnvOrigins } from './env-overrides';
import { formatKeyPath, type KeyPath } from './key-path';
import { isSecretPath, mask } from './secret-keys';
import { missingMessage } from './schema/scalars';
import { describeValue } from './yaml-document';

type Issue = z.core.$ZodIssue;

/**
 * zod's issues as problems an operator can act on: one per key, in the file's words,
 * each credited to the environment variable that set the value when one did. A secret's
 * value never appears in a message.
 */
export function issueProblems(issues: readonly Issue[], file: string, origins: EnvOrigins): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: KeyPath, message: string, input?: unknown): void => {
    problems.push({ source: origins.of(path) ?? file, key: formatKeyPath(path), message: hideSecret(path, message, input) });
  };
  for (const issue of issues) {
    const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...path, key], 'unknown key');
    } else {
      add(path, describeIssue(issue), 'input' in issue ? issue.input : undefined);
    }
  }
  return problems;
}

function describeIssue(issue: Issue): string {
  const shown = 'input' in issue ? describeValue(issue.input) : 'nothing';
  switch (issue.code) {
    case 'invalid_type': {
      if (!('input' in issue) || issue.input === undefined) return missingMessage;
      if (issue.expected === 'object' || issue.expected === 'record') return `expected a mapping, got ${shown}`;
      if (issue.expected === 'array') {
        const scalar = typeof issue.input === 'string' ? ` (write [${issue.input}])` : '';
        return `expected a list, got ${shown}${scalar}`;
      }
      if (issue.expected === 'boolean') return `${shown} is not a boolean (use true or false)`;
      if (issue.expected === 'number' || issue.expected === 'int') return `${shown} is not a number`;
      return `expected a value, got ${shown}`;
    }
    case 'invalid_value':
      return `${shown} is not one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_union': {
      const wantsBoolean = issue.errors.some((branch) => branch.some((inner) => inner.code === 'invalid_type' && inner.expected === 'boolean'));
      return wantsBoolean ? `${shown} is not a boolean (use true or false)` : `${shown} is not valid here`;
    }
    case 'invalid_format':
      return issue.format === 'url' ? `${shown} is not a URL (use http://HOST/… or https://HOST/…)` : `${shown} is not a valid ${issue.format}`;
    case 'too_small':
      return issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint'
        ? `must be at least ${String(issue.minimum)}, got ${shown}`
        : `must have at least ${String(issue.minimum)} entries`;
    case 'too_big':
      return issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint'
        ? `must be at most ${String(issue.maximum)}, got ${shown}`
        : `must have at most ${String(issue.maximum)} entries`;
    case 'custom':
    case 'unrecognized_keys':
    case 'invalid_key':
    case 'invalid_element':
    case 'not_multiple_of':
      return issue.message;
  }
}

function hideSecret(path: KeyPath, message: string, input: unknown): string {
  if (!isSecretPath(path) || (typeof input !== 'string' && typeof input !== 'number') || String(input) === '') return message;
  return message.split(JSON.stringify(String(input))).join(`"${mask}"`).split(String(input)).join(mask);
}
