import { z } from 'zod';
import { compatibilitySection, middlewareSection, policySection, reportingSection } from './accepted-only.schema';
import { authSection } from './auth.schema';
import { berthSection } from './berth.schema';
import { catalogSection } from './catalog.schema';
import { healthSection } from './health.schema';
import { httpSection } from './http.schema';
import { logLevel, logSection } from './log.schema';
import { notificationsSection } from './notifications.schema';
import { proxySection } from './proxy.schema';
import { redisSection } from './redis.schema';
import { storageSection } from './storage.schema';
import { validationSection } from './validation.schema';
import { missingMessage } from './scalars';
import { describeValue } from '../yaml-document';

export const supportedVersion = '0.1';

/** The reference reads only version 0.1 files ("unsupported version"). */
export const versionSection = z.unknown().transform((version, ctx): typeof supportedVersion => {
  if (version === supportedVersion) return supportedVersion;
  const message =
    version === undefined || version === null
      ? `${missingMessage} (berth reads version ${supportedVersion} files: version: ${supportedVersion})`
      : `${describeValue(version)} is not supported: berth reads version ${supportedVersion} files`;
  ctx.issues.push({ code: 'custom', message, input: version });
  return z.NEVER;
});

/**
 * The whole file. `describeStorageKey` names the environment variable behind a storage
 * driver key, for the "found 2 drivers" message.
 */
export function configSchema(describeStorageKey: (key: string) => string = (key) => key) {
  return z
    .strictObject({
      version: versionSection,
      log: logSection.prefault({}),
      /** Deprecated alias of log.level. */
      loglevel: logLevel.optional(),
      storage: storageSection(describeStorageKey),
      auth: authSection.optional(),
      middleware: middlewareSection.optional(),
      reporting: reportingSection.optional(),
      http: httpSection.prefault({}),
      notifications: notificationsSection.prefault({}),
      redis: redisSection.prefault({}),
      health: healthSection.prefault({}),
      catalog: catalogSection.prefault({}),
      proxy: proxySection.optional(),
      compatibility: compatibilitySection.optional(),
      validation: validationSection.prefault({}),
      policy: policySection.optional(),
      berth: berthSection.prefault({}),
    })
    .superRefine((config, ctx) => {
      // The reference panics at start-up on this ("redis configuration required").
      // Optional chaining: zod runs this even when a section failed (and holds no value).
      if (config.storage?.cache.blobdescriptor === 'redis' && config.redis?.addr === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['storage', 'cache', 'blobdescriptor'],
          input: 'redis',
          message: 'the redis cache needs redis.addr to be set',
        });
      }
    })
    .transform(({ loglevel, ...config }) => ({
      ...config,
      log: { ...config.log, level: config.log.level ?? loglevel ?? 'info' },
    }));
}

/** The validated configuration: the reference's keys, durations in milliseconds, defaults applied. */
export type BerthConfig = z.output<ReturnType<typeof configSchema>>;
