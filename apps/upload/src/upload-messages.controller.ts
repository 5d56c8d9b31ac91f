import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { type UploadMessages, UploadPattern } from '@berth/contracts';
import { RpcErrorFilter } from '@berth/telemetry';
import { UploadSessionService } from './upload-session.service';

type Request<P extends keyof UploadMessages> = UploadMessages[P]['request'];
type Reply<P extends keyof UploadMessages> = Promise<UploadMessages[P]['reply']>;

/** The upload service's message handlers: each one hands its request to the session service. */
@Controller()
@UseFilters(RpcErrorFilter)
export class UploadMessagesController {
  constructor(private readonly sessions: UploadSessionService) {}

  @MessagePattern(UploadPattern.Start)
  start(@Payload() request: Request<typeof UploadPattern.Start>): Reply<typeof UploadPattern.Start> {
    return this.sessions.start(request);
  }

  @MessagePattern(UploadPattern.Append)
  append(@Payload() request: Request<typeof UploadPattern.Append>): Reply<typeof UploadPattern.Append> {
    return this.sessions.append(request);
  }

  @MessagePattern(UploadPattern.Finish)
  finish(@Payload() request: Request<typeof UploadPattern.Finish>): Reply<typeof UploadPattern.Finish> {
    return this.sessions.finish(request);
  }

  @MessagePattern(UploadPattern.Status)
  status(@Payload() request: Request<typeof UploadPattern.Status>): Reply<typeof UploadPattern.Status> {
    return this.sessions.status(request);
  }

  @MessagePattern(UploadPattern.Cancel)
  cancel(@Payload() request: Request<typeof UploadPattern.Cancel>): Reply<typeof UploadPattern.Cancel> {
    return this.sessions.cancel(request);
  }

  @MessagePattern(UploadPattern.DeleteBlob)
  deleteBlob(@Payload() request: Request<typeof UploadPattern.DeleteBlob>): Reply<typeof UploadPattern.DeleteBlob> {
    return this.sessions.deleteBlob(request);
  }
}
