import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { OciError } from '@berth/oci';

/** Node's own parse failures (`clientError`), by the `code` llhttp gives them. */
function errorFor(error: Error & { code?: string; reason?: string }): OciError {
  const reason = error.reason ?? error.message;
  // The spec names no code for it; SIZE_INVALID, as for a manifest over the size limit: the
  // same request can never succeed.
  if (error.code === 'HPE_HEADER_OVERFLOW') return new OciError('SIZE_INVALID', 'the request headers exceed 16 KiB', 431);
  // Raw UTF-8, a NUL, a space: no repository name can be read from such a target.
  if (error.code === 'HPE_INVALID_URL') return new OciError('NAME_INVALID', `the request target is not valid HTTP: ${reason}`);
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new OciError('UNSUPPORTED', 'the request headers did not arrive in time', 408);
  return new OciError('UNSUPPORTED', `the request is not valid HTTP/1.1: ${reason}`, 400);
}

/**
 * Answers a request that Node's HTTP parser refused before any handler saw it (the server's
 * `clientError`: a request line with raw UTF-8 or a NUL, headers over Node's 16 KiB) as every
 * other answer: an OCI error body, the API version and the configured `http.headers`. There is
 * no response object yet, so the answer is written on the socket, which then closes (the
 * parser cannot go on after an error).
 */
export function answerUnparsedRequest(error: Error & { code?: string }, socket: Duplex, headers: Record<string, string[]>): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const oci = errorFor(error);
  const body = JSON.stringify({ errors: [oci.toJSON()] });
  const lines = [
    `HTTP/1.1 ${oci.status} ${STATUS_CODES[oci.status] ?? ''}`,
    'Docker-Distribution-API-Version: registry/2.0',
    ...Object.entries(headers).flatMap(([name, values]) => values.map((value) => `${name}: ${value}`)),
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}
