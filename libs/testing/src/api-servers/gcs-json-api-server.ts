import type { KeyObject } from 'node:crypto';
import { ApiServerProcess } from './api-server-process';
import type { GcsQuestions, GcsRequest } from './gcs-json-api';

/**
 * Google Cloud Storage's JSON API as gcs-json-api.ts serves it, in a process of its own: what
 * the gcs driver's specs and the gcs end-to-end test run against. Stop it when done.
 */
export class GcsJsonApiServer {
  private constructor(
    private readonly server: ApiServerProcess<GcsQuestions>,
    readonly url: string,
  ) {}

  /** `signer`: the service account whose V4 signed URLs the server checks and serves. */
  static async start(options: { buckets: string[]; signer?: { email: string; publicKey: KeyObject } }): Promise<GcsJsonApiServer> {
    const signer = options.signer && { email: options.signer.email, publicKey: options.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    const { process, url } = await ApiServerProcess.start('gcs', { buckets: options.buckets, ...(signer ? { signer } : {}) });
    return new GcsJsonApiServer(process, url);
  }

  /** Every request the server saw, in order. */
  requests(): Promise<GcsRequest[]> {
    return this.server.ask('requests');
  }

  /** Resumable sessions neither finished nor cancelled: what a test proves is left behind. */
  openSessions(): Promise<Array<{ bucket: string; name: string; size: number }>> {
    return this.server.ask('openSessions');
  }

  /** Every object name in `bucket`, private ones (`~…`) included. */
  objectNames(bucket: string): Promise<string[]> {
    return this.server.ask('objectNames', bucket);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
