import type { LoggerService } from '@nestjs/common';
import { StorageDriverError } from '@berth/storage-driver';
import { OciError } from './oci-error';

/**
 * What a client may be told of any failure. An `OciError` is already that. A backend
 * failure is 503 UNAVAILABLE: the storage is down, not the request wrong (the reference
 * answers 500 with the backend's internal URL in the detail; berth keeps that in its log).
 * Anything else is a bug: logged with its stack, answered UNKNOWN.
 */
export function asOciError(exception: unknown, logger: LoggerService): OciError {
  if (exception instanceof OciError) return exception;
  const text = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
  logger.error(text);
  if (exception instanceof StorageDriverError) {
    return new OciError('UNAVAILABLE', 'the storage backend failed; see the registry log');
  }
  return new OciError('UNKNOWN', 'internal error; see the registry log');
}
