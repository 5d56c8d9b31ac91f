import { z } from 'zod';
import { bool, duration, listenAddress, name } from './scalars';

/**
 * berth's own settings, the one key the reference does not have. Small on purpose: every
 * other setting is the reference's key.
 */
export const berthSection = z.strictObject({
  upload: z
    .strictObject({
      // Where the upload service takes blob bytes streamed from the gateway when they run as
      // separate processes. Loopback by default: it is not a public listener. Port 0 lets
      // each instance take a free port (it announces the one it got in Redis), so several
      // instances start from one config file.
      addr: listenAddress.default('127.0.0.1:0'),
      // A mount without `from` links any blob the registry holds ("automatic content
      // discovery", distribution-spec "Mounting a blob"; the conformance suite's
      // OCI_AUTOMATIC_CROSSMOUNT). false: the reference's answer, 202 and a new session.
      automaticcrossmount: bool.default(true),
    })
    .prefault({}),
  bus: z
    .strictObject({
      // How long a service waits for the reply to a request sent to another service.
      requesttimeout: duration({ positive: true }).default(30_000),
      // Every Redis key berth uses starts with this: clusters (or test runs) can share a db.
      keyprefix: name.default('berth'),
    })
    .prefault({}),
  log: z
    .strictObject({
      // A storage operation slower than this is logged (warning: driver, operation, the path's
      // kind, repository, duration), to tell a slow backend from a slow berth. 0 logs none.
      slowstorage: duration().default(1_000),
    })
    .prefault({}),
});
