import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { HEALTH_BOARD, type HealthBoard } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { HEALTH_GATE_DETAIL, type HttpRequest, type HttpResponse, sendOciError } from './http-answers';

/**
 * While the health service reports the storage unhealthy, every request is refused with
 * the reference's 503 (`UNAVAILABLE`, "health check failed: please see /debug/health").
 */
@Injectable()
export class HealthGateMiddleware implements NestMiddleware {
  constructor(@Inject(HEALTH_BOARD) private readonly board: HealthBoard) {}

  async use(req: HttpRequest, res: HttpResponse, next: () => void): Promise<void> {
    const report = await this.board.current();
    if (report && !report.healthy) {
      sendOciError(req, res, new OciError('UNAVAILABLE', HEALTH_GATE_DETAIL));
      return;
    }
    next();
  }
}
