import { PathNotFoundError, StorageDriverError, StorageDriverFailure } from '../../errors';
import { StalledCallError } from './host-files';

/** Node's system error codes that mean "nothing at this driver path". */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR']);

export function isNotFound(error: unknown): boolean {
  return error instanceof Error && NOT_FOUND_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * A filesystem error as the driver contract's error: ENOENT (and ENOTDIR, met when a
 * parent component is a file) become `PathNotFoundError` for the driver path, never the
 * host path, so the root directory does not leak into messages.
 */
export function asDriverFailure(error: unknown, path: string, driverName: string): StorageDriverFailure {
  if (error instanceof StorageDriverFailure) return error;
  if (isNotFound(error)) return new PathNotFoundError(path, driverName);
  if (error instanceof StalledCallError) return new StorageDriverError(`${path}: ${error.message}`, driverName, error);
  const code = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.name) : 'error';
  return new StorageDriverError(`${code} on ${path}`, driverName, error);
}
