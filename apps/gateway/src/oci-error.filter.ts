import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { asOciError } from '@berth/bus';
import type { OciError } from '@berth/oci';
import type { Response, Request } from 'express';

/** The one place an error becomes an HTTP answer: `{"errors":[...]}` with the code's status. */
@Catch()
export class OciErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('gateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    sendOciError(req, res, asOciError(exception, this.logger));
  }
}

/** Writes `error` as the response: its status, its headers, `{"errors":[...]}` (no body for HEAD). */
export function sendOciError(req: Request, res: Response, error: OciError): void {
  if (res.headersSent) {
    // The body had begun: all that can be said now is to cut the connection.
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  // A refused body (too large, bad range) is read and dropped, not left unread: a client still
  // sending would otherwise see EPIPE instead of the error.
  if (!req.readableEnded) req.resume();
  // A body destroyed unread (its storage write failed) cannot be drained: the connection would
  // hang the client's next request on it, so it closes after this answer.
  if (req.destroyed && !req.complete) res.setHeader('Connection', 'close');
  const body = JSON.stringify({ errors: [error.toJSON()] });
  res.status(error.status).type('application/json; charset=utf-8');
  if (req.method === 'HEAD') res.setHeader('Content-Length', Buffer.byteLength(body)).end();
  else res.send(body);
}
