import { readFileSync } from 'node:fs';

/**
 * An htpasswd file as the reference reads it (registry/auth/htpasswd/htpasswd.go): lines
 * trimmed, blank and `#` lines skipped, `user:hash` split at the first `:`, the last of
 * duplicate users winning. Unlike the reference, which parses any hash and then fails every
 * login of a non-bcrypt user in silence, berth refuses such a file with the line that is
 * wrong: an operator who wrote `htpasswd` without `-B` learns it at start-up.
 */
export class HtpasswdFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HtpasswdFileError';
  }
}

/** bcrypt as Go's x/crypto verifies it: `$2a$`, `$2b$`, `$2x$` or `$2y$`, a cost of 4 to 31, 53 characters of salt and hash. */
const bcryptHash = /^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string, path: string): Map<string, string> {
  const entries = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${path} line ${index + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) throw new HtpasswdFileError(`${where}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (user === '') throw new HtpasswdFileError(`${where}: the user name is empty`);
    const cost = bcryptHash.exec(hash)?.[1];
    // The user is named, the hash never (it is a secret of its own).
    if (cost === undefined) {
      throw new HtpasswdFileError(`${where}: the entry of "${user}" is not a bcrypt hash; only bcrypt ($2y$, $2a$, $2b$) is accepted: make it with htpasswd -B`);
    }
    if (Number(cost) < 4 || Number(cost) > 31) throw new HtpasswdFileError(`${where}: the bcrypt cost of "${user}" is ${cost}, outside 4-31`);
    entries.set(user, hash);
  });
  return entries;
}

export function readHtpasswd(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new HtpasswdFileError(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseHtpasswd(text, path);
}
