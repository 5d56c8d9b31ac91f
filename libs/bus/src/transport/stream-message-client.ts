import { type Agent, type IncomingMessage, request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';
import { parseListenAddress } from '@berth/config';
import { OciError, type OciWireError } from '@berth/oci';
import { type InternalRequestSigner, SIGNATURE_HEADER } from './internal-request-signer';

/**
 * How a message whose request carries a byte stream (`body`) travels between processes:
 * `POST /messages/<pattern>`, the rest of the request as base64url JSON in one header, the
 * bytes as the HTTP body, the reply as JSON. Blob bytes never enter Redis (DESIGN.md rule 2).
 */
export const MESSAGE_HEADER = 'x-berth-message';
export const HAS_BODY_HEADER = 'x-berth-body';
export const MESSAGE_PATH = '/messages/';

export function encodeMessage(request: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(request)).toString('base64url');
}

export function decodeMessage(header: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How often an instance handling a streamed message says it is alive (an HTTP 102 interim
 * answer), and how long its caller waits without one before giving up on it. A killed
 * instance drops its connections at once; a frozen one (SIGSTOP, a VM paused, a network
 * that swallows packets) keeps them open and says nothing: without this the caller, and the
 * client behind it, waited for ever. A handler may take long (a large blob's digest read
 * back from storage): the heartbeat, not the handler, is what is timed.
 */
export const HEARTBEAT_MS = 1_000;
export const INSTANCE_SILENCE_MS = 10_000;

/**
 * The headers of a streamed message that its signature covers, as the instance reads them: a
 * header the instance acts on cannot be changed or added without the secret.
 */
export function signedStreamHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const signed: Record<string, string> = {};
  for (const name of [MESSAGE_HEADER, HAS_BODY_HEADER, 'content-length', 'transfer-encoding']) {
    const value = headers[name];
    if (value !== undefined) signed[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return signed;
}

/** The instance could not be reached before any byte of the body left: another one may take the request. */
export class InstanceUnreachableError extends Error {
  constructor(address: string, cause: Error) {
    super(`${address}: ${cause.message}`, { cause });
    this.name = 'InstanceUnreachableError';
  }
}

export interface StreamMessage {
  pattern: string;
  /** The request without its body. `length`, when present, is the body's exact byte count. */
  request: Record<string, unknown> & { length?: number };
  body?: Readable;
}

/**
 * Sends one streamed message to the instance at `address` and resolves with its reply.
 *
 * The body is piped, so the sender's socket is read only as fast as the instance takes the
 * bytes (backpressure end to end, nothing buffered beyond the streams' own buffers). Piping
 * starts only once the connection stands: a refused connection has consumed nothing and
 * rejects with {@link InstanceUnreachableError}, so the caller may try another instance.
 * A reply that comes before the body ended (the instance refused the chunk) stops the
 * piping and closes this connection; the unread rest stays in `body`, as it would when the
 * handler ran in process. An instance that dies mid-body fails with a 503 that closes the
 * client's connection too (`midBodyFailure`). `signer` signs the request: the instance refuses
 * anything else (see {@link signedStreamHeaders}).
 */
export function postStreamMessage(address: string, message: StreamMessage, agent: Agent, signer: InternalRequestSigner, silenceMs = INSTANCE_SILENCE_MS): Promise<unknown> {
  const { host, port } = parseListenAddress(address, 'upload instance address');
  const { body, request, pattern } = message;
  const path = `${MESSAGE_PATH}${pattern}`;
  const signed: Record<string, string> = {
    [MESSAGE_HEADER]: encodeMessage(request),
    [HAS_BODY_HEADER]: body ? '1' : '0',
    ...(!body ? { 'content-length': '0' } : request.length !== undefined ? { 'content-length': String(request.length) } : { 'transfer-encoding': 'chunked' }),
  };
  const headers: Record<string, string | number> = {
    ...signed,
    [SIGNATURE_HEADER]: signer.sign({ method: 'POST', path, target: address, headers: signed }),
    'content-type': 'application/octet-stream',
  };

  return new Promise((resolve, reject) => {
    let piping = false;
    let settled = false;
    let silence: NodeJS.Timeout | undefined;
    const finish = (error: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      if (body && piping) body.unpipe(outgoing);
      body?.off('error', onBodyError);
      body?.off('aborted', onBodyAborted);
      if (error) reject(error);
      else resolve(value);
    };
    const outgoing = httpRequest({ host, port, method: 'POST', path, headers, agent });
    // The sender went away mid-body: the instance must see its request cut off too, not wait for the rest.
    const onBodyError = (error: Error): void => void outgoing.destroy(error);
    const onBodyAborted = (): void => void outgoing.destroy(new Error('the client aborted the request'));
    const startBody = (): void => {
      if (!body) return void outgoing.end();
      piping = true;
      body.once('error', onBodyError);
      body.once('aborted', onBodyAborted);
      body.pipe(outgoing);
    };
    // Armed once connected, pushed back by every heartbeat and by the reply itself.
    const expectWord = (): void => {
      clearTimeout(silence);
      silence = setTimeout(() => outgoing.destroy(new Error(`no word from the instance for ${silenceMs} ms`)), silenceMs);
    };
    outgoing.on('information', expectWord);
    outgoing.once('socket', (socket) => {
      const connected = (): void => {
        expectWord();
        startBody();
      };
      if (socket.connecting) socket.once('connect', connected);
      else connected();
    });
    outgoing.on('error', (error) => {
      if (!piping) finish(new InstanceUnreachableError(address, error));
      else finish(midBodyFailure(address, error));
    });
    outgoing.once('response', (response: IncomingMessage) => {
      expectWord();
      const bodyUnfinished = !outgoing.writableFinished;
      readReply(response).then(
        (reply) => {
          // Only now: destroying earlier could lose the reply itself.
          if (bodyUnfinished) outgoing.destroy();
          if ('err' in reply) finish(OciError.fromWire(reply.err));
          else finish(undefined, reply.response);
        },
        (error: Error) => finish(new OciError('UNAVAILABLE', `no reply from the upload instance at ${address}: ${error.message}`)),
      );
    });
  });
}

/**
 * The instance died with part of the body: those bytes cannot be sent again, so the client's
 * connection closes after the 503 rather than be drained to the end of a body nobody takes.
 * The client learns at once, asks where the upload stands, and resumes on another instance.
 */
function midBodyFailure(address: string, error: Error): OciError {
  return new OciError('UNAVAILABLE', `the upload instance at ${address} failed mid-request: ${error.message}`, { Connection: 'close' });
}

async function readReply(response: IncomingMessage): Promise<{ response?: unknown } | { err: OciWireError }> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof value !== 'object' || value === null) throw new Error('the reply is not a JSON object');
  return value;
}
