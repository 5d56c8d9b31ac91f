import type { z } from 'zod';
import { StorageDriverFailure } from './errors';

/** The driver's parameters under `storage.<name>` do not validate; each issue names its key. */
export class InvalidDriverParamsError extends StorageDriverFailure {
  constructor(
    driverName: string,
    public readonly issues: z.core.$ZodIssue[],
  ) {
    const details = issues.map((issue) => `storage.${[driverName, ...issue.path.map(String)].join('.')}: ${issue.message}`);
    super(`invalid ${driverName} storage parameters: ${details.join('; ')}`, driverName);
  }
}
