import { z } from 'zod';
import { bool, dialAddress, duration, int, text, textList } from './scalars';

/**
 * `redis` as Distribution 2.8 reads it, plus Distribution 3's ACL `username` and TLS files
 * (`tls.certificate`, `tls.key`, `tls.rootcas`); v3's `addrs`/`poolsize` are not accepted.
 */
export const redisSection = z.strictObject({
  // Checked here, so a mistake is said at start-up, by every mode (not only --service).
  addr: dialAddress.optional(),
  username: text.optional(),
  password: text.optional(),
  db: int({ min: 0 }).default(0),
  dialtimeout: duration().optional(),
  readtimeout: duration().optional(),
  writetimeout: duration().optional(),
  pool: z
    .strictObject({ maxidle: int({ min: 0 }).optional(), maxactive: int({ min: 0 }).optional(), idletimeout: duration().optional() })
    .prefault({}),
  // TLS is on with `enabled` (2.8) or any of the files (3.x); `rootcas` replaces the system's CAs.
  tls: z
    .strictObject({ enabled: bool.default(false), certificate: text.optional(), key: text.optional(), rootcas: textList.optional() })
    .superRefine((tls, ctx) => {
      // Distribution 3 warns and connects without a client certificate; half a pair is a mistake.
      if ((tls.certificate === undefined) !== (tls.key === undefined)) {
        const missing = tls.certificate === undefined ? 'certificate' : 'key';
        ctx.addIssue({ code: 'custom', path: [missing], message: 'missing: a client certificate needs both redis.tls.certificate and redis.tls.key' });
      }
    })
    .prefault({}),
});
