import type { z } from 'zod';

/**
 * An issue from a schema run inside a transform (a driver's parameters, an auth provider),
 * re-raised under `prefix` so its path is the key's full path. Its message is kept.
 */
export function nested(issue: z.core.$ZodIssue, prefix: PropertyKey[]): z.core.$ZodRawIssue {
  return { ...issue, path: [...prefix, ...issue.path] } as z.core.$ZodRawIssue;
}
