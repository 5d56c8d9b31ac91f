import { hashSync } from '@node-rs/bcrypt';

/** One htpasswd line as `htpasswd -B -C cost` writes it: `user:$2y$…`. */
export function htpasswdLine(user: string, password: string, cost = 10): string {
  return `${user}:${hashSync(password, cost).replace(/^\$2b\$/, '$2y$')}`;
}
