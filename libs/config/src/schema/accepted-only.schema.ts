import { z } from 'zod';
import { bool, freeForm, text, textList } from './scalars';

/**
 * Reference sections berth reads so that existing files load, but does not act on
 * (see the README's table). Typed loosely: their keys are checked, their values barely.
 */
export const reportingSection = z.strictObject({
  bugsnag: z.strictObject({ apikey: text.optional(), releasestage: text.optional(), endpoint: text.optional() }).optional(),
  newrelic: z.strictObject({ licensekey: text.optional(), name: text.optional(), verbose: bool.optional() }).optional(),
});

const middlewareList = z.array(z.strictObject({ name: text, disabled: bool.default(false), options: freeForm.optional() }));

export const middlewareSection = z.strictObject({
  registry: middlewareList.optional(),
  repository: middlewareList.optional(),
  storage: middlewareList.optional(),
});

export const compatibilitySection = z.strictObject({
  schema1: z.strictObject({ signingkeyfile: text.optional(), enabled: bool.default(false) }).optional(),
});

/** Distribution 2.8's repository classes (removed in 3). */
export const policySection = z.strictObject({
  repository: z.strictObject({ classes: textList.default([]) }).optional(),
});
