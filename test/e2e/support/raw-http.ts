import { type Agent, type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A client that dies mid-body: sends a request whose Content-Length promises `declaredLength`
 * bytes, sends only `body`, waits until the server has surely read those, then cuts the TCP
 * connection. No HTTP client library can do this, hence a raw socket.
 */
export async function sendTruncatedRequest(options: {
  url: string;
  method: string;
  path: string;
  declaredLength: number;
  body: Buffer;
  headers?: Record<string, string>;
}): Promise<void> {
  const { hostname, port } = new URL(options.url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // An early answer (an error before the body is read) is fine: what matters is what stays stored.
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  const head = [
    `${options.method} ${options.path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Content-Length: ${options.declaredLength}`,
    ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head);
  socket.write(options.body);
  await sleep(300);
  socket.destroy();
  // Let the server notice the reset and run its clean-up before the test looks.
  await sleep(300);
}

/**
 * One request whose path goes on the wire exactly as given: HTTP client libraries resolve
 * `..` and `%2e%2e` through WHATWG URL before sending, which would hide the very paths a
 * traversal test must send.
 */
export async function sendVerbatimPath(
  url: string,
  method: string,
  path: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Status and headers of a GET, without reading the body. The reference's 416 answers keep the
 * blob's Content-Length but send a shorter body, which makes HTTP client libraries abort; the
 * status and Content-Range are what the tests judge there.
 */
export async function fetchStatusAndHeaders(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method: 'GET', path, headers, agent: false }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.on('error', () => undefined);
      res.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request whose body goes out with `Transfer-Encoding: chunked` and no Content-Length, one
 * write per chunk: how docker and containerd stream a layer of unknown length in one PATCH.
 */
export async function sendChunkedBody(options: {
  url: string;
  method: string;
  path: string;
  chunks: readonly Buffer[];
  headers?: Record<string, string>;
}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const { hostname, port } = new URL(options.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port: Number(port), method: options.method, path: options.path, headers: options.headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (const chunk of options.chunks) req.write(chunk);
    req.end();
  });
}

/** A streamed request's body: bytes to write, or something to do between them (stop a backend, wait). */
export type RequestStep = Buffer | (() => Promise<void> | void);

/**
 * One request whose body is sent as `steps` say: buffers are written, functions run in
 * between. Resolves with the answer, which may come before the body ends: then the rest of
 * the body is not sent.
 */
export function streamedRequest(
  url: string,
  method: 'PATCH' | 'PUT',
  path: string,
  headers: Record<string, string | number>,
  steps: readonly RequestStep[],
  agent?: Agent,
): Promise<{ status: number; body: string; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent, headers: { 'content-type': 'application/octet-stream', ...headers } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), location });
        req.destroy();
      });
    });
    // Once answered, the unsent rest of the body is moot: a broken pipe then is expected.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    void (async () => {
      for (const step of steps) {
        if (answered) return;
        if (Buffer.isBuffer(step)) await new Promise<void>((written) => req.write(step, () => written()));
        else await step();
      }
      if (!answered) req.end();
    })().catch(reject);
  });
}

/**
 * Sends `bytes` as they are and reads the answer until the server closes or one whole answer
 * (by its Content-Length) has come: for requests no HTTP client will send (raw UTF-8 or a NUL
 * in the request line, headers past the server's limit).
 */
export async function sendRawRequest(url: string, bytes: Buffer): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const received: Buffer[] = [];
  const answer = () => Buffer.concat(received).toString('utf8');
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      received.push(data);
      const [head = '', body = ''] = answer().split('\r\n\r\n', 2);
      const length = /^content-length: *(\d+)$/im.exec(head)?.[1];
      if (length !== undefined && Buffer.byteLength(body) >= Number(length)) resolve();
    });
    socket.once('close', () => resolve());
    socket.once('error', reject);
    socket.write(bytes);
  });
  socket.destroy();
  const [head = '', ...rest] = answer().split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text: rest.join('\r\n\r\n') };
}
