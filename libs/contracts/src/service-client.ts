/** A contract: message pattern → the request it takes and the reply it gives. */
export type Contract<M> = { [P in keyof M]: { request: unknown; reply: unknown } };

/**
 * How a service calls another: one request, one reply, handled by exactly one replica.
 * A failure arrives as the `OciError` the handler threw (rebuilt on this side), or as
 * `UNAVAILABLE` when no replica answered in time.
 */
export interface MessageClient<M extends Contract<M>> {
  send<P extends keyof M & string>(pattern: P, request: M[P]['request']): Promise<M[P]['reply']>;
}

/** Injection tokens of the typed clients, one per service. */
export const MANIFEST_CLIENT = Symbol('MANIFEST_CLIENT');
export const UPLOAD_CLIENT = Symbol('UPLOAD_CLIENT');
