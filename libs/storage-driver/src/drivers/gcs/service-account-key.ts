import { readFileSync } from 'node:fs';
import { StorageDriverFailure } from '../../errors';

/** `storage.gcs.keyfile` cannot be used: `reason` says why, in the words `serve` and `config check` print. */
export class UnusableKeyfileError extends StorageDriverFailure {
  constructor(public readonly reason: string) {
    super(`storage.gcs.keyfile: ${reason}`, 'gcs');
  }
}

/**
 * The service account key that `storage.gcs.keyfile` names, read as the reference reads it
 * (`google.JWTConfigFromJSON`: a JSON object of `"type": "service_account"`). The driver reads it
 * when it loads, on its first call; `serve` and `config check` read it through here at start-up
 * (cli's servable), so both refuse it in the same words. Loading a config never reads it: a
 * config whose key lives on another machine still prints.
 */
export function readServiceAccountKey(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UnusableKeyfileError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    key = undefined;
  }
  if (!isServiceAccountKey(key)) {
    throw new UnusableKeyfileError(`${path} is not a service account key (JSON with "type": "service_account", client_email and private_key)`);
  }
  return key;
}

function isServiceAccountKey(key: unknown): key is Record<string, unknown> {
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return false;
  const fields = key as Record<string, unknown>;
  return fields.type === 'service_account' && typeof fields.client_email === 'string' && typeof fields.private_key === 'string';
}
