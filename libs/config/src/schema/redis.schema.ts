import { z } from 'zod';
import { bool, duration, int, text } from './scalars';

/** `redis` as Distribution 2.8 reads it (v3's `addrs`/`poolsize` are not accepted). */
export const redisSection = z.strictObject({
  addr: text.optional(),
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
