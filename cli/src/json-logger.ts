import type { LoggerService, LogLevel } from '@nestjs/common';
import { redact } from '@berth/config';

const severity: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, log: 3, verbose: 4, debug: 5 };
// The reference's log.level names mapped onto Nest's.
const fromReference: Record<string, LogLevel> = { error: 'error', warn: 'warn', info: 'log', debug: 'debug' };

/** The one logger: one JSON object a line, `log.fields` on each, secrets redacted. */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;
  private readonly fields: Record<string, unknown>;

  constructor(options: { level?: string; fields?: Record<string, unknown> }) {
    this.threshold = severity[fromReference[options.level ?? 'info'] ?? 'log'];
    this.fields = redact(options.fields ?? {}) as Record<string, unknown>;
  }

  log(message: unknown, context?: string): void { this.write('log', message, context); }
  error(message: unknown, trace?: string, context?: string): void { this.write('error', message, context, trace); }
  warn(message: unknown, context?: string): void { this.write('warn', message, context); }
  debug(message: unknown, context?: string): void { this.write('debug', message, context); }
  verbose(message: unknown, context?: string): void { this.write('verbose', message, context); }
  fatal(message: unknown, context?: string): void { this.write('fatal', message, context); }

  private write(level: LogLevel, message: unknown, context?: string, trace?: string): void {
    if (severity[level] > this.threshold) return;
    const entry = {
      time: new Date().toISOString(),
      level: level === 'log' ? 'info' : level,
      ...this.fields,
      ...(context ? { context } : {}),
      msg: redact(message),
      ...(trace ? { trace: redact(trace) } : {}),
    };
    process.stderr.write(`${JSON.stringify(entry)}\n`);
  }
}
