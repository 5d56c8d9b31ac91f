import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../berth-process';
import type { FromServer, ServerQuestions } from './api-test-server';
import type { GcsJsonApiOptions, GcsQuestions } from './gcs-json-api';
import type { OssApiOptions, OssQuestions } from './oss-api';

export type ApiServerKind = 'gcs' | 'oss';

interface Servers {
  gcs: { options: GcsJsonApiOptions; questions: GcsQuestions };
  oss: { options: OssApiOptions; questions: OssQuestions };
}

/** The server's entry, built: tests run on the sources, but a child process runs plain JavaScript. */
const ENTRY = join(repoRoot, 'libs', 'testing', 'dist', 'api-servers', 'api-server.main.js');
const STOP_TIMEOUT_MS = 10_000;

/**
 * An API test server (api-server.main.ts) in a child process of its own, as a real server
 * would be: the test's process holds none of its memory, so a driver suite's memory bound
 * measures the driver alone. Started from the built file in libs/testing/dist (`pnpm build`,
 * as test/run-all.sh does before the tests); a change to the servers needs a build before it
 * shows. The test asks about the server's state over the IPC channel.
 */
export class ApiServerProcess<Q extends ServerQuestions> {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (answer: unknown) => void; reject: (error: Error) => void }>();
  private stderr = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly label: string,
    private readonly directory: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-16 * 1024);
    });
    child.stdout?.resume();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const { reject } of this.waiting.values()) reject(new Error(`${label} exited:\n${this.stderr}`));
      this.waiting.clear();
    });
    child.on('message', (message: FromServer) => {
      if (!('id' in message)) return;
      const asked = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if ('error' in message) asked?.reject(new Error(`${label}: ${message.error}`));
      else asked?.resolve(message.answer);
    });
  }

  static async start<K extends ApiServerKind>(kind: K, options: Servers[K]['options']): Promise<{ process: ApiServerProcess<Servers[K]['questions']>; url: string }> {
    if (!existsSync(ENTRY)) throw new Error(`the ${kind} API test server is not built (${ENTRY}): run pnpm build`);
    const directory = join(repoRoot, '.state', `${kind}-api-${process.pid}-${randomBytes(4).toString('hex')}`);
    // execArgv empty: the test runner's loader flags are not for this plain script.
    const child = fork(ENTRY, [kind, directory, JSON.stringify(options)], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const server = new ApiServerProcess<Servers[K]['questions']>(child, `the ${kind} API test server`, directory);
    const url = await new Promise<string>((resolve, reject) => {
      child.on('message', (message: FromServer) => {
        if ('ready' in message) resolve(message.ready);
        if ('failed' in message) reject(new Error(`${server.label} failed to start: ${message.failed}`));
      });
      child.once('error', reject);
      void server.exited.then(() => reject(new Error(`${server.label} exited before it was ready:\n${server.stderr}`)));
    });
    return { process: server, url };
  }

  ask<K extends keyof Q & string>(question: K, ...args: Parameters<Q[K]>): Promise<Awaited<ReturnType<Q[K]>>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error(`${this.label} is not running`));
      this.waiting.set(id, { resolve: resolve as (answer: unknown) => void, reject });
      this.child.send({ id, question, args });
    });
  }

  /** Stops the server and removes its files; it is killed if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.send({ stop: true });
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(this.directory, { recursive: true, force: true });
  }
}
