import type { z } from 'zod';
import { BaseDriver, type DriverObserver } from './base/base-driver';
import { RegulatedDriver } from './base/regulator';
import { DeferredDriver } from './base/deferred-driver';
import { FilesystemDriver } from './drivers/filesystem/filesystem.driver';
import { InMemoryDriver } from './drivers/inmemory/inmemory.driver';
import { InvalidDriverParamsError } from './factory-errors';
import { type DriverName, type DriverParams, driverParams } from './params';
import type { StorageDriver } from './storage-driver';

type DriverConstructors = { [N in DriverName]: (params: DriverParams<N>) => StorageDriver };

/**
 * Every driver of this build, listed here rather than registered by import side effects
 * (Distribution's `factory.Register` in `init()`), so what a build contains is read in one
 * place. Those built on an HTTP client or a vendor's SDK are loaded when first called (see DeferredDriver).
 */
const constructors: DriverConstructors = {
  filesystem: (params) => new RegulatedDriver(new FilesystemDriver(params), params.maxthreads),
  inmemory: () => new InMemoryDriver(),
  s3: (params) => new DeferredDriver('s3', async () => (await import('./drivers/s3/s3.driver')).createS3Driver(params), { purgesOrphans: false }),
  swift: (params) => new DeferredDriver('swift', async () => new (await import('./drivers/swift/swift.driver')).SwiftDriver(params), { purgesOrphans: true }),
  azure: (params) => new DeferredDriver('azure', async () => new (await import('./drivers/azure/azure.driver')).AzureDriver(params), { purgesOrphans: true }),
  gcs: (params) => new DeferredDriver('gcs', async () => new (await import('./drivers/gcs/gcs.driver')).GcsDriver(params), { purgesOrphans: true }),
  oss: (params) => new DeferredDriver('oss', async () => (await import('./drivers/oss/oss.driver')).createOssDriver(params), { purgesOrphans: false }),
};

export type DriverParamsResult<N extends DriverName> =
  | { ok: true; params: DriverParams<N> }
  | { ok: false; issues: z.core.$ZodIssue[] };

/**
 * Validates the parameters of driver `name` as found under `storage.<name>`. An empty key
 * (`filesystem:` with nothing below, YAML null) means "all defaults", as in the reference.
 */
export function parseDriverParams<N extends DriverName>(name: N, raw: unknown): DriverParamsResult<N> {
  const schema: z.ZodType<DriverParams<N>> = driverParams[name] as unknown as z.ZodType<DriverParams<N>>;
  const result = schema.safeParse(raw ?? {});
  return result.success ? { ok: true, params: result.data } : { ok: false, issues: result.error.issues };
}

/**
 * The driver `name` built from its raw parameters, behind `BaseDriver`; `observers` (metrics,
 * the slow-operation log) are told of every call, whatever the driver.
 */
export function createStorageDriver<N extends DriverName>(name: N, rawParams: unknown, observers: readonly DriverObserver[] = []): StorageDriver {
  const parsed = parseDriverParams(name, rawParams);
  if (!parsed.ok) throw new InvalidDriverParamsError(name, parsed.issues);
  return new BaseDriver(constructors[name](parsed.params), observers);
}
