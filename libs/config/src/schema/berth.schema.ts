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
  debug: z
    .strictObject({
      // The debug listener (/metrics, /livez, /readyz) of a process run with --service upload,
      // manifest or health: each instance serves its own metrics. The gateway and the
      // all-in-one use http.debug.addr, as the reference. Unset: none.
      addr: listenAddress.optional(),
    })
    .prefault({}),
  health: z
    .strictObject({
      // A write probe (a small object under berth/health/, written, read back and removed) and a
      // read probe, each interval of health.storagedriver, its threshold too: a storage that
      // can be read but not written is seen. Off by default: the reference writes nothing.
      storageprobe: z
        .strictObject({
          enabled: bool.default(false),
          // While only the write probe fails: pushes answer 503 and pulls are served, rather
          // than the reference's 503 for every request.
          readonlyonfailure: bool.default(false),
        })
        .prefault({}),
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
});
