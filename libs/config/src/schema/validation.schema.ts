import { z } from 'zod';
import { bool, patternList } from './scalars';

export const validationSection = z
  .strictObject({
    /** Deprecated in the reference in favour of `disabled`; accepted, ignored. */
    enabled: bool.optional(),
    disabled: bool.default(false),
    manifests: z
      .strictObject({
        urls: z.strictObject({ allow: patternList.default([]), deny: patternList.default([]) }).prefault({}),
      })
      .prefault({}),
  })
  .transform(({ disabled, manifests }) => ({ disabled, manifests }));
