import { z } from 'zod';
import { duration, httpUrl, text } from './scalars';

/** `proxy`: a pull-through cache of `remoteurl`. */
export const proxySection = z.strictObject({
  remoteurl: httpUrl,
  username: text.optional(),
  password: text.optional(),
  // Cached content expires after a week by default; 0 keeps it forever.
  ttl: duration().default(168 * 3_600_000),
});
