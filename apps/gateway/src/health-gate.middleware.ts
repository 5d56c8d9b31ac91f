import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { HEALTH_BOARD, type HealthBoard, refusalOf } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { HEALTH_GATE_DETAIL, type HttpRequest, type HttpResponse, sendOciError } from './http-answers';

/**
 * While the health service reports the storage unhealthy, every request is refused with
 * the reference's 503 (`UNAVAILABLE`, "health check failed: please see /debug/health").
 * With `berth.health.storageprobe.readonlyonfailure`, a storage that fails only the write
 * probe refuses only what writes: pulls (`GET`, `HEAD`) are served.
 */
@Injectable()
export class HealthGateMiddleware implements NestMiddleware {
  private readonly readonlyOnFailure: boolean;

  constructor(
    @Inject(HEALTH_BOARD) private readonly board: HealthBoard,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.readonlyOnFailure = config.berth.health.storageprobe.readonlyonfailure;
  }

  async use(req: HttpRequest, res: HttpResponse, next: () => void): Promise<void> {
    const refusal = refusalOf(await this.board.current(), this.readonlyOnFailure);
    if (refusal === 'all') {
      sendOciError(req, res, new OciError('UNAVAILABLE', HEALTH_GATE_DETAIL));
      return;
    }
    if (refusal === 'writes' && req.method !== 'GET' && req.method !== 'HEAD') {
      sendOciError(req, res, new OciError('UNAVAILABLE', 'the storage cannot be written (read-only until the write probe passes): please see /debug/health'));
      return;
    }
    next();
  }
}
