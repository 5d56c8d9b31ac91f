import { z } from 'zod';
import { bool, duration, headerMap, httpUrl, int, name } from './scalars';

const tenSeconds = 10_000;
// The reference checks every 10s when `interval` is missing or 0 (registry/handlers/app.go).
const checkInterval = duration()
  .transform((ms) => (ms === 0 ? tenSeconds : ms))
  .default(tenSeconds);
// 0: unhealthy on the first failure (the reference's PeriodicChecker rather than its threshold checker).
const checkThreshold = int({ min: 0 }).default(0);

export const healthSection = z.strictObject({
  storagedriver: z
    .strictObject({
      enabled: bool.default(false),
      interval: checkInterval,
      // As the reference: a missing or 0 threshold makes the first failure count (app.go's
      // plain status updater), which is a threshold of 1.
      threshold: int({ min: 0 })
        .transform((failures) => Math.max(failures, 1))
        .default(1),
    })
    .prefault({}),
  file: z.array(z.strictObject({ file: name, interval: checkInterval, threshold: checkThreshold })).default([]),
  http: z
    .array(
      z.strictObject({
        uri: httpUrl,
        headers: headerMap.default({}),
        statuscode: int({ min: 100, max: 599 }).default(200),
        timeout: duration().optional(),
        interval: checkInterval,
        threshold: checkThreshold,
      }),
    )
    .default([]),
  tcp: z
    .array(z.strictObject({ addr: name, timeout: duration().optional(), interval: checkInterval, threshold: checkThreshold }))
    .default([]),
});
