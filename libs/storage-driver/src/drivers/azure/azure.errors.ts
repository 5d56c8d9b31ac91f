import { isTransientError } from '../../retry';

/** Codes the service answers for a blob that is not there (the reference's `is404`). */
const NOT_FOUND_CODES = new Set(['BlobNotFound', 'ResourceNotFound', 'CannotVerifyCopySource']);

export function isAzureNotFound(error: unknown): boolean {
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  return (typeof code === 'string' && NOT_FOUND_CODES.has(code)) || (statusCode === 404 && code !== 'ContainerNotFound');
}

/**
 * The shared policy's idea of transient, plus the SDK's name for a request that never got an
 * answer (its `RestError` with code REQUEST_SEND_ERROR carries no status).
 */
export function isAzureTransient(error: unknown): boolean {
  return isTransientError(error) || (error as { code?: unknown } | undefined)?.code === 'REQUEST_SEND_ERROR';
}
