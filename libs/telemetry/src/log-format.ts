/**
 * The reference's three `log.formatter`s (logrus, with `TimestampFormat: RFC3339Nano`), one
 * line each. Fields are dotted names (`http.request.id`) as the reference writes them.
 */
export type LogFormatter = 'text' | 'json' | 'logstash';

/** logrus's level names: `warning`, not `warn`. */
export type LogLevelName = 'error' | 'warning' | 'info' | 'debug';

/** A field of a line. Pairs, not an object: copying a dozen dotted keys into one cost more than the rest of a line. */
export type LogField = readonly [key: string, value: unknown];

export interface LogEntry {
  time: Date;
  level: LogLevelName;
  msg: string;
  /** `log.fields`, then the line's own; a later one with the same key wins. */
  fields: readonly LogField[];
}

export function formatEntry(formatter: LogFormatter, entry: LogEntry): string {
  const time = entry.time.toISOString();
  switch (formatter) {
    case 'text': {
      // logrus's TextFormatter without a terminal: `time=… level=… msg=…` then the fields, sorted.
      let line = `time="${time}" level=${entry.level} msg=${textValue(entry.msg)}`;
      for (const [key, value] of sortedFields(entry.fields)) if (value !== undefined) line += ` ${key}=${textValue(value)}`;
      return line;
    }
    case 'json':
      // logrus's JSONFormatter marshals a map: its keys come out sorted.
      return jsonLine([...entry.fields, ['level', entry.level], ['msg', entry.msg], ['time', time]]);
    case 'logstash':
      // logrus-logstash-hook's LogstashFormatter (the reference's `logstash`).
      return jsonLine([...entry.fields, ['@timestamp', time], ['@version', '1'], ['level', entry.level], ['message', entry.msg]]);
  }
}

/** Sorted by key, the last of equal keys kept. */
function sortedFields(fields: readonly LogField[]): LogField[] {
  const sorted = fields.map((field, index) => [field, index] as const).sort(([[a], i], [[b], j]) => (a < b ? -1 : a > b ? 1 : i - j));
  const result: LogField[] = [];
  for (const [field] of sorted) {
    if (result.length > 0 && result[result.length - 1]![0] === field[0]) result[result.length - 1] = field;
    else result.push(field);
  }
  return result;
}

function jsonLine(fields: readonly LogField[]): string {
  let line = '{';
  for (const [key, value] of sortedFields(fields)) {
    if (value === undefined) continue;
    line += `${line.length > 1 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return `${line}}`;
}

// logrus quotes a value with any character outside these (and an empty one, here, to keep it visible).
const bareText = /^[A-Za-z0-9\-._/@^+]+$/;

function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return bareText.test(text) ? text : JSON.stringify(text);
}
