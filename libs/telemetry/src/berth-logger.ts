import type { LoggerService, LogLevel } from '@nestjs/common';
import { isSecretKey, redact } from '@berth/config';
import { formatEntry, type Layout, layoutOf, type LogFormatter, type LogLevelName } from './log-format';
import { currentRequest } from './request-scope';
import { type LogLine, MAX_UNWRITTEN_BYTES, stderrLines } from './stderr-lines';
import { activeTraceIds, type TraceIds } from './tracing';

const severity: Record<LogLevelName, number> = { error: 0, warning: 1, info: 2, debug: 3 };
// Nest's levels onto logrus's: fatal is an error that ends the process, verbose is debug.
const fromNest: Record<LogLevel, LogLevelName> = { fatal: 'error', error: 'error', warn: 'warning', log: 'info', verbose: 'debug', debug: 'debug' };
// `log.level` (the reference's names, `warn` among them) onto logrus's.
const fromConfig: Record<string, LogLevelName> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };

export interface BerthLoggerOptions {
  /** `log.level`: error, warn, info (default) or debug. */
  level?: string;
  /** `log.formatter`: text (default), json or logstash. */
  formatter?: LogFormatter;
  /** `log.fields`: on every line. */
  fields?: Record<string, unknown>;
}

/**
 * A line's message with fields of its own: `logger.warn({ msg: 'slow storage operation',
 * 'storage.driver': 's3' })` through Nest's `Logger`, which hands objects on untouched.
 */
export type StructuredMessage = { msg: string } & Record<string, unknown>;

/**
 * The one logger of every berth process, Nest's own lines included (it is Nest's logger):
 * one line per entry on stderr in the `log.formatter`, under `log.level`, with `log.fields`,
 * the Nest context, and the id of the request the line is about (`http.request.id`), and the
 * trace and span ids when tracing is on. Every message and field is redacted (config secrets,
 * URL passwords, Authorization credentials) before it is written.
 */
export class BerthLogger implements LoggerService {
  private readonly threshold: number;
  private readonly formatter: LogFormatter;
  /** `log.fields`, redacted once: the first keys and values of every line. */
  private readonly fieldKeys: string[];
  private readonly fieldValues: unknown[];
  private readonly out: (line: LogLine) => void;

  /** `out`, for a test: where lines go instead of stderr, each as it is logged. */
  constructor(options: BerthLoggerOptions = {}, out?: (line: string) => void) {
    this.threshold = severity[fromConfig[(options.level ?? 'info').toLowerCase()] ?? 'info'];
    this.formatter = options.formatter ?? 'text';
    const fields = redact(options.fields ?? {}) as Record<string, unknown>;
    this.fieldKeys = Object.keys(fields);
    this.fieldValues = Object.values(fields);
    this.out = out
      ? (line) => out(typeof line === 'string' ? line : line())
      : stderrLines((count) =>
        this.format('warning', `${count} log lines dropped: stderr's reader fell more than ${MAX_UNWRITTEN_BYTES / 1024 / 1024} MiB behind`, this.fieldKeys, this.fieldValues),
      );
  }

  /** Whether a line at `level` would be written: lets a caller skip building one. */
  enabled(level: LogLevel): boolean {
    return severity[fromNest[level]] <= this.threshold;
  }

  log(message: unknown, context?: string): void {
    this.write('log', message, context);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.write('error', message, context, trace);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('verbose', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  /**
   * A writer of info lines that always carry `keys`, in that order (the access line, one per
   * request): their layout is worked out here once, not per line, and only the values marked in
   * `clientText` (what a client sent, which may hold a credential) are scrubbed. The line has
   * `log.fields`, `context` and, when tracing is on, the trace and span ids, as every line. It
   * is formatted when its batch is written, not after each request: the batch's lines are
   * formatted in a row, with the formatter in the caches. That took 1.5 to 2.3 points off the
   * 6.6–7.4% that logging and metrics cost a manifest request (test/bench/README.md, stop 18).
   */
  fixedLineWriter(context: string, keys: readonly string[], clientText: readonly boolean[]): (msg: string, values: readonly unknown[]) => void {
    if (severity.info > this.threshold) return () => undefined;
    const plainKeys = [...this.fieldKeys, 'context', ...keys];
    const tracedKeys = [...this.fieldKeys, 'context', 'trace_id', 'span_id', ...keys];
    const plain = layoutOf(this.formatter, plainKeys);
    const traced = layoutOf(this.formatter, tracedKeys);
    const formatLine = (time: number, msg: string, values: readonly unknown[], ids: TraceIds | undefined): string => {
      const line: unknown[] = this.fieldValues.slice();
      line.push(context);
      if (ids) line.push(ids.trace_id, ids.span_id);
      for (let i = 0; i < values.length; i++) line.push(clientText[i] ? redact(values[i]) : values[i]);
      return ids ? this.format('info', msg, tracedKeys, line, traced, time) : this.format('info', msg, plainKeys, line, plain, time);
    };
    return (msg, values) => {
      // What depends on the moment (the time, the active span) is taken now.
      const time = Date.now();
      const ids = activeTraceIds();
      this.out(() => formatLine(time, msg, values, ids));
    };
  }

  private write(level: LogLevel, message: unknown, context?: string, trace?: string): void {
    const name = fromNest[level];
    if (severity[name] > this.threshold) return;
    const keys = this.fieldKeys.slice();
    const values = this.fieldValues.slice();
    if (context) {
      keys.push('context');
      values.push(context);
    }
    const request = currentRequest();
    if (request) {
      keys.push('http.request.id');
      values.push(request.id);
    }
    const ids = activeTraceIds();
    if (ids) {
      keys.push('trace_id', 'span_id');
      values.push(ids.trace_id, ids.span_id);
    }
    let msg: unknown = message;
    if (isStructured(message)) {
      for (const key of Object.keys(message)) {
        if (key === 'msg') continue;
        const value = message[key];
        keys.push(key);
        // A field named like a secret is masked whatever it holds; the rest scrubbed as messages are.
        values.push(isSecretKey(key) ? '*****' : typeof value === 'number' || typeof value === 'boolean' ? value : redact(value));
      }
      msg = message.msg;
    }
    if (trace) {
      keys.push('trace');
      values.push(redact(trace));
    }
    const text = redact(msg);
    this.out(this.format(name, typeof text === 'string' ? text : JSON.stringify(text), keys, values));
  }

  private format(level: LogLevelName, msg: string, keys: readonly string[], values: unknown[], layout?: Layout, time = Date.now()): string {
    return `${formatEntry(this.formatter, { time, level, msg, keys, values }, layout)}\n`;
  }
}

function isStructured(message: unknown): message is StructuredMessage {
  return typeof message === 'object' && message !== null && typeof (message as { msg?: unknown }).msg === 'string';
}
