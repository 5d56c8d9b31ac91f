import { z } from 'zod';
import { int } from './scalars';

const defaultMaxEntries = 1000;

export const catalogSection = z.strictObject({
  // The reference: "An empty or a negative value will set a default of 1000"; berth refuses negatives.
  maxentries: int({ min: 0 })
    .transform((entries) => (entries === 0 ? defaultMaxEntries : entries))
    .default(defaultMaxEntries),
});
