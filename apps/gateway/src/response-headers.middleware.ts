import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { type HttpRequest, type HttpResponse, setApiVersion } from './http-answers';

/**
 * Headers on every response, errors and 503s included (the reference forgets `http.headers`
 * on its health-check 503s; berth does not).
 */
@Injectable()
export class ResponseHeadersMiddleware implements NestMiddleware {
  private readonly headers: [string, string[]][];

  constructor(@Inject(BERTH_CONFIG) config: BerthConfig) {
    this.headers = Object.entries(config.http.headers ?? {});
  }

  use(_req: HttpRequest, res: HttpResponse, next: () => void): void {
    setApiVersion(res);
    for (const [name, values] of this.headers) res.setHeader(name, values);
    next();
  }
}
