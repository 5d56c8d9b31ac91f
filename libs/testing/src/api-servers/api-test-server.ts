import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Questions a test may ask a server about its state: each answers with plain data (it crosses a process boundary). */
export type ServerQuestions = Record<string, (...args: never[]) => unknown>;

/** The messages between a test and its server's process (api-server.main.ts). */
export type ToServer = { id: number; question: string; args: unknown[] } | { stop: true };
export type FromServer = { ready: string } | { failed: string } | { id: number; answer: unknown } | { id: number; error: string };

/**
 * What the API test servers (GCS JSON API, OSS) share, on the server's side: an HTTP server on a
 * free port of 127.0.0.1, object bytes in files under `directory` (removed on stop), and a
 * table of questions a test may ask about the state. They run in a process of their own
 * (api-server-process.ts), so that a test measuring a driver's memory measures the driver alone.
 */
export abstract class ApiTestServer {
  private server: Server | undefined;
  private address = '';

  constructor(protected readonly directory: string) {}

  abstract readonly questions: ServerQuestions;

  get url(): string {
    return this.address;
  }

  async listen(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.internalError(res, error);
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(this.directory, { recursive: true, force: true });
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** A 500 in the API's own error format. */
  protected abstract internalError(res: ServerResponse, error: unknown): void;
}
