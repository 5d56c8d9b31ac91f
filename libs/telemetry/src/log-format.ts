/**
 * The reference's three `log.formatter`s (logrus, with `TimestampFormat: RFC3339Nano`), one
 * line each. Fields are dotted names (`http.request.id`) as the reference writes them.
 */
export type LogFormatter = 'text' | 'json' | 'logstash';

/** logrus's level names: `warning`, not `warn`. */
export type LogLevelName = 'error' | 'warning' | 'info' | 'debug';

export interface LogEntry {
  time: Date;
  level: LogLevelName;
  msg: string;
  /** `log.fields`, then the line's own; a line's own win. */
  fields: Record<string, unknown>;
}

export function formatEntry(formatter: LogFormatter, entry: LogEntry): string {
  switch (formatter) {
    case 'text':
      return textLine(entry);
    case 'json':
      // logrus's JSONFormatter marshals a map: its keys come out sorted.
      return JSON.stringify(sorted({ ...entry.fields, level: entry.level, msg: entry.msg, time: entry.time.toISOString() }));
    case 'logstash':
      // logrus-logstash-hook's LogstashFormatter (the reference's `logstash`).
      return JSON.stringify(
        sorted({ ...entry.fields, '@timestamp': entry.time.toISOString(), '@version': '1', level: entry.level, message: entry.msg }),
      );
  }
}

/** logrus's TextFormatter without a terminal: `time=… level=… msg=…` then the fields, sorted. */
function textLine({ time, level, msg, fields }: LogEntry): string {
  let line = `time="${time.toISOString()}" level=${level} msg=${textValue(msg)}`;
  for (const key of Object.keys(fields).sort()) {
    const value = fields[key];
    if (value !== undefined) line += ` ${key}=${textValue(value)}`;
  }
  return line;
}

// logrus quotes a value with any character outside these (and an empty one, here, to keep it visible).
const bareText = /^[A-Za-z0-9\-._/@^+]+$/;

function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return bareText.test(text) ? text : JSON.stringify(text);
}

function sorted(object: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) result[key] = object[key];
  return result;
}
