import { z } from 'zod';
import { bool, freeForm, oneOf, text, textList } from './scalars';

export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
// The reference lower-cases the level before checking it.
export const logLevel = oneOf(logLevels, { ignoreCase: true });

/** `log.hooks`: the reference's mail hook (logrus), accepted as written. */
const logHook = z.strictObject({
  disabled: bool.default(false),
  type: text,
  levels: textList.default([]),
  options: z
    .strictObject({
      smtp: z
        .strictObject({ addr: text.optional(), username: text.optional(), password: text.optional(), insecure: bool.optional() })
        .optional(),
      from: text.optional(),
      to: textList.optional(),
    })
    .optional(),
});

export const logSection = z.strictObject({
  /** Resolved with the deprecated top-level `loglevel` by the root schema; `info` when neither is set. */
  level: logLevel.optional(),
  formatter: oneOf(['text', 'json', 'logstash']).default('text'),
  fields: freeForm.default({}),
  accesslog: z.strictObject({ disabled: bool.default(false) }).prefault({}),
  hooks: z.array(logHook).default([]),
  // Distribution 3.
  reportcaller: bool.default(false),
});
