import { z } from 'zod';

/**
 * The parameters each driver takes under `storage.<name>`, with the reference registry's
 * keys (Distribution 2.8 `FromParameters` of each driver). Unknown keys are refused so a
 * typo is caught at start-up. Values may arrive as strings (from `REGISTRY_*` variables),
 * hence the coercions.
 */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const positiveInt = z.coerce.number().int().positive();
const text = z.coerce.string();
/** A Go duration (`100ms`, `1.5s`, `2m`) in milliseconds; a bare number is milliseconds. */
const goDuration = z.union([
  z.number().nonnegative(),
  z.string().transform((value, ctx) => {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(value.trim());
    if (match === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (write it as 100ms, 2s, 1m)` });
      return z.NEVER;
    }
    const unitMs = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms'];
    return Number(match[1]) * unitMs;
  }),
]);

/** S3's bounds on a multipart upload's parts (all but the last). */
export const S3_MIN_PART = 5 * 1024 * 1024;
export const S3_MAX_PART = 5 * 1024 * 1024 * 1024;

export const driverParams = {
  filesystem: z.strictObject({
    rootdirectory: text.default('/var/lib/registry'),
    // The reference's floor: fewer threads than 25 starve its own blob writer.
    maxthreads: z.coerce.number().int().min(25).default(100),
  }),
  inmemory: z.strictObject({}),
  s3: z
    .strictObject({
      // Without keys the AWS SDK's default chain answers: environment, shared files, instance metadata.
      accesskey: text.optional(),
      secretkey: text.optional(),
      sessiontoken: text.optional(),
      region: text,
      regionendpoint: text.optional(),
      // The reference 2.8 forced path style whenever regionendpoint was set; v3 made it this key.
      forcepathstyle: bool.optional(),
      bucket: text,
      encrypt: bool.default(false),
      keyid: text.optional(),
      secure: bool.default(true),
      skipverify: bool.default(false),
      v4auth: bool.default(true),
      // The reference's bounds: S3 parts are 5 MiB at least (but the last), 5 GiB at most.
      chunksize: z.coerce.number().int().min(S3_MIN_PART).max(S3_MAX_PART).default(2 * S3_MIN_PART),
      multipartcopychunksize: z.coerce.number().int().min(S3_MIN_PART).max(S3_MAX_PART).default(32 * 1024 * 1024),
      multipartcopymaxconcurrency: positiveInt.default(100),
      multipartcopythresholdsize: z.coerce.number().int().min(0).max(S3_MAX_PART).default(32 * 1024 * 1024),
      rootdirectory: text.default(''),
      // NONE: the endpoint knows no storage classes, send none.
      storageclass: z.enum(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'NONE']).default('STANDARD'),
      objectacl: z
        .enum(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control'])
        .default('private'),
      redirectendpoint: z
        .url({ protocol: /^https?$/ })
        .refine((value) => ['', '/'].includes(new URL(value).pathname) && new URL(value).search === '', {
          message: 'a scheme and host only: no path, no query',
        })
        .optional(),
      useragent: text.optional(),
      usedualstack: bool.optional(),
      accelerate: bool.optional(),
      loglevel: text.optional(),
    })
    .refine((params) => params.v4auth, {
      path: ['v4auth'],
      message: 'false is not supported: the AWS SDK v3 signs with Signature Version 4 only (which every S3 endpoint of today accepts)',
    })
    .refine((params) => (params.accesskey === undefined) === (params.secretkey === undefined), {
      path: ['secretkey'],
      message: 'accesskey and secretkey go together (leave both out to use the environment or instance credentials)',
    }),
  swift: z.strictObject({
    authurl: z.url({ protocol: /^https?$/ }),
    // Required unless an application credential stands in for them (see swiftCredentials).
    username: text.optional(),
    password: text.optional(),
    container: text,
    region: text.optional(),
    tenant: text.optional(),
    tenantid: text.optional(),
    domain: text.optional(),
    domainid: text.optional(),
    tenantdomain: text.optional(),
    tenantdomainid: text.optional(),
    trustid: text.optional(),
    authversion: z.coerce.number().int().min(1).max(3).optional(),
    endpointtype: z.enum(['public', 'internal', 'admin']).optional(),
    insecureskipverify: bool.optional(),
    // The reference's default segment size: 20 MiB.
    chunksize: positiveInt.default(20 * 1024 * 1024),
    prefix: text.optional(),
    secretkey: text.optional(),
    accesskey: text.optional(),
    tempurlcontainerkey: bool.optional(),
    tempurlmethods: z.array(z.enum(['GET', 'HEAD', 'PUT', 'POST', 'DELETE'])).optional(),
    // A Keystone v3 application credential in place of username and password, as
    // distribution#3403 proposed: by id, or by name with username (and domain).
    applicationcredentialid: text.optional(),
    applicationcredentialname: text.optional(),
    applicationcredentialsecret: text.optional(),
  }).superRefine(swiftCredentials),
  azure: z
    .strictObject({
      accountname: text,
      accountkey: text.optional(),
      container: text,
      realm: text.default('core.windows.net'),
      // The reference's v3 key (2.8 has none): the Blob service's URL, for an emulator
      // (azurite) or a sovereign cloud; default https://<accountname>.blob.<realm>.
      serviceurl: z.url({ protocol: /^https?$/ }).optional(),
      rootdirectory: text.default(''),
      credentials: z
        .strictObject({
          type: z.enum(['shared_key', 'client_secret', 'default_credentials']),
          clientid: text.optional(),
          tenantid: text.optional(),
          secret: text.optional(),
        })
        .optional(),
      // The reference's names: attempts of each call and the first wait, which set the
      // shared retry policy (retry.ts) for this driver, and bound the polling of a copy.
      max_retries: positiveInt.default(5),
      retry_delay: goDuration.default(100),
    })
    .superRefine(azureCredentials),
  gcs: z.strictObject({
    bucket: text,
    keyfile: text.optional(),
    credentials: z.record(z.string(), z.unknown()).optional(),
    rootdirectory: text.default(''),
    // The reference's default and rule: a multiple of 256 KiB, GCS's resumable chunk unit.
    chunksize: positiveInt
      .default(16 * 1024 * 1024)
      .refine((size) => size % (256 * 1024) === 0, 'must be a multiple of 262144 (256 KiB)'),
    // berth's own: the JSON API's base URL, for an emulator or a private endpoint
    // (default https://storage.googleapis.com).
    apiendpoint: z.url({ protocol: /^https?$/ }).optional(),
  }),
  oss: z.strictObject({
    accesskeyid: text,
    accesskeysecret: text,
    region: text,
    // OSS's naming rule, which ali-oss enforces when the driver is built.
    bucket: text.refine((name) => /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name), { message: 'an OSS bucket name: 3 to 63 of a-z, 0-9 and -, not starting or ending with -' }),
    endpoint: text.optional(),
    internal: bool.default(false),
    encrypt: bool.default(false),
    encryptionkeyid: text.optional(),
    secure: bool.default(true),
    // The reference's bounds and default, as for s3.
    chunksize: z.coerce.number().int().min(S3_MIN_PART).max(S3_MAX_PART).default(2 * S3_MIN_PART),
    rootdirectory: text.default(''),
  }),
} as const;

/**
 * Azure: an account key alone is the 2.8 way (shared key); `credentials.type` is the
 * reference v3's choice, each type needing its own keys.
 */
function azureCredentials(
  params: { accountkey?: string | undefined; credentials?: { type: string; clientid?: string | undefined; tenantid?: string | undefined; secret?: string | undefined } | undefined },
  ctx: z.RefinementCtx,
): void {
  const type = params.credentials?.type ?? 'shared_key';
  if (type === 'shared_key' && params.accountkey === undefined) {
    ctx.addIssue({ code: 'custom', path: ['accountkey'], message: 'missing: required with shared key credentials (or set credentials.type)' });
  }
  if (type === 'client_secret') {
    for (const key of ['clientid', 'tenantid', 'secret'] as const) {
      if (params.credentials?.[key] === undefined) ctx.addIssue({ code: 'custom', path: ['credentials', key], message: 'missing: required with credentials.type client_secret' });
    }
  }
}

type SwiftCredentialKeys = 'username' | 'password' | 'tenant' | 'tenantid' | 'trustid' | `applicationcredential${'id' | 'name' | 'secret'}`;

/**
 * Swift authenticates with username and password, or with an application credential. A
 * credential is scoped to its own project by Keystone, so a tenant or trust beside it could
 * only be ignored: it is refused, as is a password, so one file never means two logins.
 */
function swiftCredentials(params: Partial<Record<SwiftCredentialKeys, string>>, ctx: z.RefinementCtx): void {
  const problem = (key: SwiftCredentialKeys, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
  const missing = 'missing: this key is required';
  const { applicationcredentialid: id, applicationcredentialname: name, applicationcredentialsecret: secret } = params;
  if (id === undefined && name === undefined && secret === undefined) {
    if (params.username === undefined) problem('username', `${missing} (or give applicationcredentialid and applicationcredentialsecret)`);
    if (params.password === undefined) problem('password', `${missing} (or give applicationcredentialid and applicationcredentialsecret)`);
    return;
  }
  if (secret === undefined) problem('applicationcredentialsecret', `${missing} with an application credential`);
  if (id === undefined && name === undefined) {
    problem('applicationcredentialid', `${missing} with applicationcredentialsecret (or applicationcredentialname with username)`);
  }
  if (id === undefined && name !== undefined && params.username === undefined) {
    problem('username', `${missing} with applicationcredentialname: the name is the user's own (or give applicationcredentialid)`);
  }
  for (const key of ['password', 'tenant', 'tenantid', 'trustid'] as const) {
    if (params[key] !== undefined) problem(key, 'not used with an application credential, which Keystone scopes to its own project: remove it');
  }
}

export type DriverName = keyof typeof driverParams;
export type DriverParams<N extends DriverName> = z.output<(typeof driverParams)[N]>;
export const driverNames = Object.keys(driverParams) as DriverName[];
