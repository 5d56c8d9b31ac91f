import { ApiServerProcess } from './api-server-process';
import type { OssApiOptions, OssQuestions } from './oss-api';

/**
 * Alibaba Cloud OSS's REST API as oss-api.ts serves it, in a process of its own: what the oss
 * driver's specs run against. Stop it when done.
 */
export class OssApiServer {
  private constructor(
    private readonly server: ApiServerProcess<OssQuestions>,
    /** `http://127.0.0.1:PORT`: the driver's `endpoint`. */
    readonly url: string,
  ) {}

  static async start(options: OssApiOptions): Promise<OssApiServer> {
    const { process, url } = await ApiServerProcess.start('oss', options);
    return new OssApiServer(process, url);
  }

  /** Open multipart uploads, as ListMultipartUploads would answer them. */
  openUploads(): Promise<Array<{ key: string; uploadId: string }>> {
    return this.server.ask('openUploads');
  }

  /** Requests answered, by API name (PutObject, UploadPart…). */
  calls(): Promise<Record<string, number>> {
    return this.server.ask('calls');
  }

  /** The size on disk of every stored object. */
  storedBytes(): Promise<number> {
    return this.server.ask('storedBytes');
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
