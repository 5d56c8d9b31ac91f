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

export const driverParams = {
  filesystem: z.strictObject({
    rootdirectory: text.default('/var/lib/registry'),
    // The reference's floor: fewer threads than 25 starve its own blob writer.
    maxthreads: z.coerce.number().int().min(25).default(100),
  }),
  inmemory: z.strictObject({}),
  s3: z.strictObject({
    accesskey: text.optional(),
    secretkey: text.optional(),
    sessiontoken: text.optional(),
    region: text,
    regionendpoint: text.optional(),
    forcepathstyle: bool.optional(),
    bucket: text,
    encrypt: bool.optional(),
    keyid: text.optional(),
    secure: bool.optional(),
    skipverify: bool.optional(),
    v4auth: bool.optional(),
    chunksize: positiveInt.optional(),
    multipartcopychunksize: positiveInt.optional(),
    multipartcopymaxconcurrency: positiveInt.optional(),
    multipartcopythresholdsize: positiveInt.optional(),
    rootdirectory: text.optional(),
    storageclass: text.optional(),
    objectacl: text.optional(),
    useragent: text.optional(),
    usedualstack: bool.optional(),
    accelerate: bool.optional(),
    loglevel: text.optional(),
  }),
  swift: z.strictObject({
    authurl: z.url({ protocol: /^https?$/ }),
    username: text,
    password: text,
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
  }),
  azure: z.strictObject({
    accountname: text,
    accountkey: text.optional(),
    container: text,
    realm: text.optional(),
    serviceurl: text.optional(),
    rootdirectory: text.optional(),
    credentials: z.record(z.string(), z.unknown()).optional(),
    maxretries: positiveInt.optional(),
  }),
  gcs: z.strictObject({
    bucket: text,
    keyfile: text.optional(),
    credentials: z.record(z.string(), z.unknown()).optional(),
    rootdirectory: text.optional(),
    chunksize: positiveInt.optional(),
  }),
  oss: z.strictObject({
    accesskeyid: text,
    accesskeysecret: text,
    region: text,
    bucket: text,
    endpoint: text.optional(),
    internal: bool.optional(),
    encrypt: bool.optional(),
    encryptionkeyid: text.optional(),
    secure: bool.optional(),
    chunksize: positiveInt.optional(),
    rootdirectory: text.optional(),
  }),
} as const;

export type DriverName = keyof typeof driverParams;
export type DriverParams<N extends DriverName> = z.output<(typeof driverParams)[N]>;
export const driverNames = Object.keys(driverParams) as DriverName[];
