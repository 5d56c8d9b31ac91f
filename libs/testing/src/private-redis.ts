import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

/**
 * A redis-server of this test file's own (from test/backends/install.sh), so that FLUSHALL
 * and restarts disturb no other test running beside it.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, after {@link kill}: empty, as after a crash without persistence). */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server exited (code ${code}) before answering on ${this.port}`))),
    );
    const ready = (async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          if ((await this.command('PING')) === 'PONG') return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      throw new Error(`redis-server did not answer on ${this.port}`);
    })();
    await Promise.race([ready, exited]);
  }

  /** SIGKILL: a crash, not a shutdown. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** One command through redis-cli; its raw answer, trimmed. */
  async command(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), '--raw', ...args]);
    return stdout.trim();
  }
}
