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

/** The driver is part of the configuration grammar but not of this build yet. */
export class DriverUnavailableError extends StorageDriverFailure {
  constructor(driverName: string) {
    super(`the ${driverName} driver is not available in this build yet`, driverName);
  }
}
