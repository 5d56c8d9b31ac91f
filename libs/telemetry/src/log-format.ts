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

/**
 * Sorted by key, the last of equal keys kept. Lines of one kind (every access line) have the
 * same keys in the same order: their order is worked out once and remembered by the keys.
 */
function sortedFields(fields: readonly LogField[]): LogField[] {
  let keys = '';
  for (const [key] of fields) keys += `${key}\n`;
  let order = orders.get(keys);
  if (order === undefined) {
    order = orderOf(fields);
    // Keys that vary without end (a caller's own) must not grow the memory: only the first kinds are kept.
    if (orders.size < 256) orders.set(keys, order);
  }
  const sorted: LogField[] = new Array<LogField>(order.length);
  for (let i = 0; i < order.length; i++) sorted[i] = fields[order[i]!]!;
  return sorted;
}

const orders = new Map<string, number[]>();

/** The indices of `fields` in key order, the last of equal keys only. */
function orderOf(fields: readonly LogField[]): number[] {
  const sorted = fields.map((field, index) => [field[0], index] as const).sort(([a, i], [b, j]) => (a < b ? -1 : a > b ? 1 : i - j));
  const order: number[] = [];
  for (const [key, index] of sorted) {
    if (order.length > 0 && fields[order[order.length - 1]!]![0] === key) order[order.length - 1] = index;
    else order.push(index);
  }
  return order;
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
  // A finite number or a boolean is bare text (digits, '-', '.', 'e', '+'), no test needed.
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  return bareText.test(text) ? text : JSON.stringify(text);
}
