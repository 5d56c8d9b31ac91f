import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Runs `test/backends/<script> start` (which starts the backend, or finds it running) and
 * returns the variables its `export NAME=value` lines set.
 */
export function backendScriptExports(script: string): Record<string, string> {
  const path = resolve(__dirname, '../../../test/backends', script);
  const exports = execFileSync('bash', [path, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return Object.fromEntries([...exports.matchAll(/^export (\w+)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]));
}
