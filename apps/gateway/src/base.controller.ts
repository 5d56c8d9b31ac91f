import { Controller, Get } from '@nestjs/common';

/** `GET /v2/`: the API version check every client makes first (distribution-spec "end-1"). */
@Controller('v2')
export class BaseController {
  @Get()
  check(): Record<string, never> {
    return {};
  }
}
