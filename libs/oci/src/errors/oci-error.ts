import { descriptorOf, type ErrorCode, type ErrorDescriptor, isErrorCode } from './codes';

/** Extra response headers an error must carry (e.g. the `Content-Range` of a 416). */
export type OciErrorHeaders = Readonly<Record<string, string>>;

/** One entry of the `errors` array of an error response. */
export interface OciErrorBody {
  code: ErrorCode;
  message: string;
  /** Omitted when absent, as the reference's `json:"detail,omitempty"` does. */
  detail?: unknown;
}

/** The plain-JSON form in which an error crosses a process boundary (Redis, the bus). */
export interface OciWireError extends OciErrorBody {
  status: number;
  headers?: Record<string, string>;
}

const MAX_DETAIL_IN_LOG_MESSAGE = 500;

/**
 * An error a client may be told about: a registered code, an optional detail, and the
 * HTTP status and headers its answer needs. Thrown once wherever the fault is found and
 * rendered once by the gateway (Distribution's errcode.Error, `WithDetail`).
 */
export class OciError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  readonly status: number;
  readonly headers: OciErrorHeaders | undefined;

  constructor(code: ErrorCode, detail?: unknown, status?: number);
  constructor(code: ErrorCode, detail?: unknown, headers?: OciErrorHeaders, status?: number);
  constructor(code: ErrorCode, detail?: unknown, headersOrStatus?: OciErrorHeaders | number, status?: number) {
    const descriptor = descriptorOf(code);
    super(logMessage(descriptor, detail));
    this.name = 'OciError';
    this.code = code;
    this.detail = detail;
    const headers = typeof headersOrStatus === 'number' ? undefined : headersOrStatus;
    const override = typeof headersOrStatus === 'number' ? headersOrStatus : status;
    if (override !== undefined && !isHttpErrorStatus(override)) {
      throw new RangeError(`an OCI error's status must be an HTTP error status (400-599), not ${String(override)}`);
    }
    this.status = override ?? descriptor.status;
    this.headers = headers;
  }

  get descriptor(): ErrorDescriptor {
    return descriptorOf(this.code);
  }

  /** The entry of `{"errors":[...]}`: the message is always the code's registered message. */
  toJSON(): OciErrorBody {
    const body: OciErrorBody = { code: this.code, message: this.descriptor.message };
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }

  /** Plain JSON that `fromWire` turns back into an equal error on the other side. */
  toWire(): OciWireError {
    const wire: OciWireError = { ...this.toJSON(), status: this.status };
    if (this.headers !== undefined) wire.headers = { ...this.headers };
    return wire;
  }

  /**
   * Rebuilds an error from its wire form. Anything that is not one (a transport's own failure,
   * a newer peer's unknown code) becomes UNKNOWN rather than a crash: the spec tells clients to
   * treat unknown codes as UNKNOWN, and a half-understood error must still be answerable.
   */
  static fromWire(value: unknown): OciError {
    if (value instanceof OciError) return value;
    if (typeof value !== 'object' || value === null) return new OciError('UNKNOWN');
    const wire = value as Partial<Record<keyof OciWireError, unknown>>;
    if (!isErrorCode(wire.code)) {
      return new OciError('UNKNOWN', typeof wire.code === 'string' ? { code: wire.code, detail: wire.detail } : undefined);
    }
    const status = isHttpErrorStatus(wire.status) ? wire.status : undefined;
    const headers = isHeaderRecord(wire.headers) ? wire.headers : undefined;
    return new OciError(wire.code, wire.detail, headers, status);
  }
}

/** The body of an error response: `{"errors":[...]}`, one entry per error, in order. */
export function renderErrors(errors: readonly OciError[]): { errors: OciErrorBody[] } {
  return { errors: errors.map((error) => error.toJSON()) };
}

function logMessage(descriptor: ErrorDescriptor, detail: unknown): string {
  if (detail === undefined) return `${descriptor.code}: ${descriptor.message}`;
  const text = typeof detail === 'string' ? detail : safeStringify(detail);
  const shortened = text.length > MAX_DETAIL_IN_LOG_MESSAGE ? `${text.slice(0, MAX_DETAIL_IN_LOG_MESSAGE)}…` : text;
  return `${descriptor.code}: ${descriptor.message}: ${shortened}`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isHttpErrorStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599;
}

function isHeaderRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}
