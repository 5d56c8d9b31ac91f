import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ServerProcessOptions {
  /** Names the server in error messages: "the reference registry", "berth". */
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Polled with GET until it answers any HTTP status; 401 counts (auth may be on). */
  readonly readyUrl: string;
  readonly readyTimeoutMs?: number;
  /** What to tell the reader when `command` is not installed. */
  readonly missingHint?: string;
}

/** Keeps the last bytes of a child's output: enough for an error message, bounded for long benches. */
class OutputTail {
  private text = '';
  /** The unfinished last line, kept apart so watchers see whole lines only. */
  private partial = '';
  private readonly watchers = new Set<(line: string) => void>();
  constructor(private readonly limit = 64 * 1024) {}
  append(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    this.text += text;
    if (this.text.length > this.limit) this.text = this.text.slice(-this.limit);
    if (this.watchers.size === 0) return;
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) for (const watcher of this.watchers) watcher(line);
  }
  watch(watcher: (line: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
  toString(): string {
    return this.text;
  }
}

/** The lines of a process's stderr that matched, from the moment the watch began. */
export interface LineWatch {
  readonly lines: readonly string[];
  stop(): void;
}

/** A server spawned as a child process, started when its ready URL answers. */
export class ServerProcess {
  private readonly stdoutTail = new OutputTail();
  private readonly stderrTail = new OutputTail();
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exited = false;

  private constructor(
    private readonly options: ServerProcessOptions,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.stdoutTail.append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.stderrTail.append(chunk));
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
      // A spawn failure (ENOENT) emits 'error' and never 'exit'.
      child.once('error', () => {
        this.exited = true;
        resolve({ code: null, signal: null });
      });
    });
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const child = spawn(options.command, options.args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const server = new ServerProcess(options, child);
    const stopPolling = new AbortController();
    const failure = await Promise.race([
      spawnError.then((error) =>
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`${options.label}: "${options.command}" is not installed. ${options.missingHint ?? ''}`.trim())
          : new Error(`${options.label}: cannot start "${options.command}": ${error.message}`),
      ),
      server.exit.then(
        ({ code, signal }) =>
          new Error(`${options.label} exited before answering (code ${code}, signal ${signal}):\n${server.output()}`),
      ),
      waitForHttp(options.readyUrl, options.readyTimeoutMs ?? 20_000, stopPolling.signal).then(
        () => undefined,
        (error: Error) => new Error(`${options.label}: ${error.message}\n${server.output()}`),
      ),
    ]);
    stopPolling.abort();
    if (failure !== undefined) {
      await server.stop();
      throw failure;
    }
    return server;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.options.label} has no pid: it never started`);
    return this.child.pid;
  }

  get stdout(): string {
    return this.stdoutTail.toString();
  }

  get stderr(): string {
    return this.stderrTail.toString();
  }

  /**
   * Collects every stderr line (where berth logs) that matches `pattern` from now on, however
   * much is written: the tail above keeps only the last 64 KiB.
   */
  watchStderr(pattern: RegExp): LineWatch {
    const lines: string[] = [];
    const stop = this.stderrTail.watch((line) => {
      if (pattern.test(line)) lines.push(line);
    });
    return { lines, stop };
  }

  /** Sends a signal without waiting: for tests of crash and shutdown behaviour. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** Resolves when the process has exited, with how it ended. */
  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  private output(): string {
    return [`--- stdout ---`, this.stdout, `--- stderr ---`, this.stderr].join('\n');
  }
}

/**
 * Polls `url` with GET until any HTTP response arrives or `timeoutMs` passes. An `https` URL is
 * not verified (a server's test CA is the test's business), and a handshake refused for want of a
 * client certificate counts as an answer: the server listens.
 */
export async function waitForHttp(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt';
  while (Date.now() < deadline && signal?.aborted !== true) {
    try {
      await getStatus(url);
      return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms (last error: ${lastError})`);
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const tls = url.startsWith('https:');
    const req = (tls ? httpsRequest : request)(url, { method: 'GET', timeout: 2_000, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', (error: NodeJS.ErrnoException) => (tls && /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(error.code ?? '') ? resolve(0) : reject(error)));
    req.end();
  });
}
