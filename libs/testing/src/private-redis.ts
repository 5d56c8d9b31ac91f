import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

/**
 * A redis-server of this test file's own (from test/backends/install.sh), so that FLUSHALL
 * and restarts disturb no other test running beside it.
 */
export interface PrivateRedisOptions {
  /** `requirepass`: the default user's password. */
  readonly password?: string;
  /**
   * TLS only (no plain port), with this server pair. With `client`, clients must show a
   * certificate signed by `ca` (redis-cli here shows that one).
   */
  readonly tls?: { certificate: string; key: string; ca: string; client?: { certificate: string; key: string } };
}

export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly options: PrivateRedisOptions,
  ) {}

  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), options);
    await redis.restart();
    return redis;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, after {@link kill}: empty, as after a crash without persistence). */
  async restart(): Promise<void> {
    const { password, tls } = this.options;
    const listen = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.certificate, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca]
      : ['--port', String(this.port)];
    if (tls) listen.push('--tls-auth-clients', tls.client ? 'yes' : 'no');
    const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(password !== undefined ? ['--requirepass', password] : [])];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
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

  /** One command through redis-cli, as the default user; its raw answer, trimmed. */
  async command(...args: string[]): Promise<string> {
    const { password, tls } = this.options;
    const access = [
      ...(password !== undefined ? ['--no-auth-warning', '-a', password] : []),
      ...(tls ? ['--tls', '--cacert', tls.ca, ...(tls.client ? ['--cert', tls.client.certificate, '--key', tls.client.key] : [])] : []),
    ];
    const { stdout } = await run('redis-cli', ['-p', String(this.port), ...access, '--raw', ...args]);
    return stdout.trim();
  }
}
