import { z } from 'zod';
import { duration, listenAddress } from './scalars';

/**
 * berth's own settings, the one key the reference does not have. Small on purpose: every
 * other setting is the reference's key.
 */
export const berthSection = z.strictObject({
  upload: z
    .strictObject({
      // Where the upload service takes blob bytes streamed from the gateway when they run as
      // separate processes. Loopback by default: it is not a public listener.
      addr: listenAddress.default('127.0.0.1:5002'),
    })
    .prefault({}),
  bus: z
    .strictObject({
      // How long a service waits for the reply to a request sent to another service.
      requesttimeout: duration({ positive: true }).default(30_000),
    })
    .prefault({}),
});
