import { z } from 'zod';
import { bool, duration, int, listenAddress, name, oneOf, text, textList } from './scalars';

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
  // Failed logins (auth.htpasswd passwords) per user and per client
  // address: each failure answered a little later (doubling from 100 ms up to `delay`), and
  // after `limit` failures within `window` that user or address is answered 429
  // TOOMANYREQUESTS until the window ends. Counted in Redis when services run apart.
  failedlogins: z
    .strictObject({
      limit: int({ min: 1 }).default(10),
      window: duration({ positive: true }).default(5 * 60_000),
      delay: duration().default(2_000),
    })
    .prefault({}),
  // berth's own token server (the Docker token protocol), so `auth.token` can point at berth
  // itself: Basic and OAuth2 password/refresh-token logins against an htpasswd file, access by
  // repository name glob, tokens signed with the first of `signingkeys` (the others are still
  // trusted for refresh tokens: list a new key first, keep the old until its tokens expire).
  tokenservice: z
    .strictObject({
      enabled: bool.default(false),
      path: text.refine((path) => path.startsWith('/') && !path.startsWith('/v2'), { message: 'must start with / and be outside /v2/' }).default('/auth/token'),
      realm: text.default('berth'),
      issuer: name.optional(),
      service: name.optional(),
      htpasswd: name.optional(),
      signingkeys: z.array(z.strictObject({ key: name, certificate: name })).default([]),
      expiration: duration({ positive: true }).default(5 * 60_000),
      refreshexpiration: duration({ positive: true }).default(30 * 24 * 3_600_000),
      anonymouspull: bool.default(false),
      admins: textList.default([]),
      rules: z
        .array(
          z.strictObject({
            repositories: textList,
            // `*`: every user the htpasswd file knows.
            users: textList,
            actions: z.array(oneOf(['pull', 'push', 'delete', '*'])),
          }),
        )
        .default([]),
    })
    .superRefine((service, ctx) => {
      if (!service.enabled) return;
      for (const key of ['issuer', 'service', 'htpasswd'] as const) {
        if (service[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `missing: the token service needs ${key}` });
      }
      if (service.signingkeys.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['signingkeys'], message: 'missing: the token service needs at least one signing key (key and certificate files)' });
      }
    })
    .prefault({}),
  // Garbage collection while serving (libs/garbage-collection's README, "Online collection"):
  // every `interval`, once per cluster, content unreferenced for longer than `reviewdelay` (by
  // storage's own dates) is collected. Off by default: the reference has no such thing.
  gc: z
    .strictObject({
      enabled: bool.default(false),
      interval: duration({ positive: true }).default(24 * 3_600_000),
      // What protects a push in progress (blobs before their manifest): a client slower than
      // this between a blob and its manifest pushes again. Also the longest a write may take
      // from its check to storage.
      reviewdelay: duration({ positive: true }).default(24 * 3_600_000),
      dryrun: bool.default(false),
      // Untagged manifests go too (as `berth garbage-collect --delete-untagged`), once their
      // revision is older than the delay; children of a live index and referrers of a live
      // manifest stay.
      deleteuntagged: bool.default(false),
    })
    .superRefine((gc, ctx) => {
      if (gc.enabled && gc.reviewdelay < 1_000) {
        ctx.addIssue({ code: 'custom', path: ['reviewdelay'], message: `must be at least 1s with gc enabled, got ${gc.reviewdelay}ms: a shorter delay collects blobs of pushes in progress` });
      }
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
