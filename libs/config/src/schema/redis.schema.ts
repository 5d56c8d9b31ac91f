import { z } from 'zod';
import { bool, dialAddress, duration, int, text } from './scalars';

/** `redis` as Distribution 2.8 reads it (v3's `addrs`/`poolsize` are not accepted). */
export const redisSection = z.strictObject({
  // Checked here, so a mistake is said at start-up, by every mode (not only --service).
  addr: dialAddress.optional(),
  password: text.optional(),
  db: int({ min: 0 }).default(0),
  dialtimeout: duration().optional(),
  readtimeout: duration().optional(),
  writetimeout: duration().optional(),
  pool: z
    .strictObject({ maxidle: int({ min: 0 }).optional(), maxactive: int({ min: 0 }).optional(), idletimeout: duration().optional() })
    .prefault({}),
  tls: z.strictObject({ enabled: bool.default(false) }).prefault({}),
});
