import { STREAMED_UPLOAD_PATTERNS, UNREPLAYABLE_MANIFEST_PATTERNS, UNREPLAYABLE_UPLOAD_PATTERNS } from '@berth/contracts';
import { OciError, type OciWireError } from '@berth/oci';

/** Whether `pattern`'s requests carry blob bytes: those never enter Redis (DESIGN.md rule 2). */
export function isStreamed(pattern: string): boolean {
  return STREAMED_UPLOAD_PATTERNS.includes(pattern);
}

/**
 * Whether a request may run again on another replica when the one that took it died before
 * answering: every message is idempotent but those whose second run answers differently.
 */
export function isReplayable(pattern: string): boolean {
  return !UNREPLAYABLE_MANIFEST_PATTERNS.includes(pattern) && !UNREPLAYABLE_UPLOAD_PATTERNS.includes(pattern);
}

/** The consumer group through which every replica of a service reads a queue (a wire name). */
export const REPLICA_GROUP = 'replicas';

/**
 * A request as it waits in a pattern's queue (the `m` field of a stream entry). `deadline`
 * (ms since the epoch) is when the caller stops waiting: a replica that takes it later drops
 * it unanswered, so a queue that filled while no replica ran does not replay stale work.
 * Instances of one cluster share a clock closely enough for this (seconds of timeout against
 * milliseconds of skew).
 */
export interface RequestEnvelope {
  id: string;
  pattern: string;
  data: unknown;
  /** The caller's reply channel; empty for an event, which gets no reply. */
  replyTo: string;
  deadline: number;
  /** The caller's request id and trace context (`carrierOf`), continued by the replica that runs it. */
  meta?: Record<string, string>;
}

/** A reply: the handler's result, or its error in wire form. */
export type ReplyEnvelope = { id: string; response?: unknown } | { id: string; err: OciWireError };

export function parseRequest(raw: string): RequestEnvelope | undefined {
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, pattern, replyTo, deadline } = value as Partial<Record<keyof RequestEnvelope, unknown>>;
  if (typeof id !== 'string' || typeof pattern !== 'string' || typeof replyTo !== 'string' || typeof deadline !== 'number') {
    return undefined;
  }
  const { data, meta } = value as { data?: unknown; meta?: unknown };
  return { id, pattern, replyTo, deadline, data, ...(isStringRecord(meta) ? { meta } : {}) };
}

export function parseReply(raw: string): ReplyEnvelope | undefined {
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null || typeof (value as { id?: unknown }).id !== 'string') return undefined;
  return value as ReplyEnvelope;
}

/**
 * An error as it leaves a handler: the services' RpcErrorFilter has already made it an
 * `OciError`'s wire form; anything else (a handler outside that filter) is rebuilt through
 * `fromWire`, which makes it UNKNOWN rather than losing it to JSON.
 */
export function errorToWire(error: unknown): OciWireError {
  return (error instanceof OciError ? error : OciError.fromWire(error)).toWire();
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
