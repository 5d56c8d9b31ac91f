import { type DriverName, type DriverParams, driverNames, driverParams } from '@berth/storage-driver';
import { z } from 'zod';
import { nested } from './nested-issue';
import { isMapping } from '../yaml-document';
import { bool, duration, int, oneOf } from './scalars';

const hours = (count: number): number => count * 3_600_000;

/** Keys beside the driver under `storage` (Distribution's Storage.Type() skips these; `tag` is v3's). */
export const storageSettingKeys = ['maintenance', 'cache', 'delete', 'redirect', 'tag'] as const;

const blobDescriptorCaches = ['inmemory', 'redis'] as const;

const storageSettings = z.strictObject({
  maintenance: z
    .strictObject({
      // The reference's uploadPurgeDefaultConfig(). It panics on a partial section; berth fills the gaps.
      uploadpurging: z
        .strictObject({
          enabled: bool.default(true),
          age: duration({ unitRequired: true, positive: true }).default(hours(168)),
          interval: duration({ unitRequired: true, positive: true }).default(hours(24)),
          dryrun: bool.default(false),
        })
        .prefault({}),
      readonly: z.strictObject({ enabled: bool.default(false) }).prefault({}),
    })
    .prefault({}),
  cache: z
    .strictObject({
      blobdescriptor: oneOf(blobDescriptorCaches).optional(),
      /** Deprecated name of `blobdescriptor`. */
      layerinfo: oneOf(blobDescriptorCaches).optional(),
      blobdescriptorsize: int({ min: 0 }).default(10_000),
    })
    .prefault({})
    .transform(({ blobdescriptor, layerinfo, blobdescriptorsize }) => ({
      blobdescriptor: blobdescriptor ?? layerinfo,
      blobdescriptorsize,
    })),
  delete: z.strictObject({ enabled: bool.default(false) }).prefault({}),
  redirect: z.strictObject({ disable: bool.default(false) }).prefault({}),
  // 0: as many as the machine has cores (the reference's GOMAXPROCS).
  tag: z.strictObject({ concurrencylimit: int({ min: 0 }).default(0) }).prefault({}),
});

export type StorageDriverConfig = { [N in DriverName]: { readonly name: N; readonly params: DriverParams<N> } }[DriverName];

export type StorageConfig = z.output<typeof storageSettings> & { driver: StorageDriverConfig };

function isDriverName(key: string): key is DriverName {
  return (driverNames as readonly string[]).includes(key);
}

/**
 * `storage`: exactly one driver key, its parameters checked by that driver's own schema
 * (`@berth/storage-driver`), beside the settings above. `describeKey` names the variable
 * that created a driver key, so "found 2" says where the second came from.
 */
export function storageSection(describeKey: (key: string) => string) {
  return z.unknown().transform((raw, ctx): StorageConfig => {
    if (raw === undefined) {
      ctx.issues.push({ code: 'custom', message: `missing: configure one storage driver (${driverNames.join(', ')})`, input: raw });
      return z.NEVER;
    }
    if (!isMapping(raw)) {
      ctx.issues.push({ code: 'custom', message: `expected a mapping with one storage driver (${driverNames.join(', ')})`, input: raw });
      return z.NEVER;
    }
    const settingsInput: Record<string, unknown> = {};
    const driverKeys: string[] = [];
    for (const [key, value] of Object.entries(raw)) {
      if ((storageSettingKeys as readonly string[]).includes(key)) settingsInput[key] = value;
      else driverKeys.push(key);
    }
    driverKeys.sort();
    if (driverKeys.length === 0) {
      ctx.issues.push({ code: 'custom', message: `no storage driver configured: add one of ${driverNames.join(', ')}`, input: raw });
    } else if (driverKeys.length > 1) {
      ctx.issues.push({
        code: 'custom',
        message: `exactly one storage driver must be configured, found ${driverKeys.length}: ${driverKeys.map(describeKey).join(', ')}`,
        input: raw,
      });
    }
    const [driverKey] = driverKeys;
    let driver: StorageDriverConfig | undefined;
    if (driverKeys.length === 1 && driverKey !== undefined) {
      if (!isDriverName(driverKey)) {
        ctx.issues.push({
          code: 'custom',
          message: `unknown storage driver (known: ${driverNames.join(', ')})`,
          input: driverKey,
          path: [driverKey],
        });
      } else {
        // An empty key (`inmemory:`) is a driver with all its defaults, as in the reference.
        const params = driverParams[driverKey].safeParse(raw[driverKey] ?? {}, { reportInput: true });
        if (params.success) driver = { name: driverKey, params: params.data } as StorageDriverConfig;
        else for (const issue of params.error.issues) ctx.issues.push(nested(issue, [driverKey]));
      }
    }
    const settings = storageSettings.safeParse(settingsInput, { reportInput: true });
    if (!settings.success) for (const issue of settings.error.issues) ctx.issues.push(nested(issue, []));
    if (!settings.success || driver === undefined) return z.NEVER;
    return { ...settings.data, driver };
  });
}
