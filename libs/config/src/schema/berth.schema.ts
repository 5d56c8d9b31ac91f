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
});