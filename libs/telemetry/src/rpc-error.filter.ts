import { type ArgumentsHost, Catch, Logger, type RpcExceptionFilter } from '@nestjs/common';
import { asOciError } from '@berth/oci';
import { type Observable, throwError } from 'rxjs';

/**
 * Every failure of a message handler leaves the service as the wire form of an `OciError`,
 * so the gateway renders the same error whichever transport carried it.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('rpc');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    const error = asOciError(exception, this.logger);
    return throwError(() => error.toWire());
  }
}
