/**
 * The reference's three `log.formatter`s (logrus, with `TimestampFormat: RFC3339Nano`), one
 * line each. Fields are dotted names (`http.request.id`) as the reference writes them.
 */
export type LogFormatter = 'text' | 'json' | 'logstash';

/** logrus's level names: `warning`, not `warn`. */
export type LogLevelName = 'error' | 'warning' | 'info' | 'debug';

export interface LogEntry {
  /** Milliseconds since the epoch (`Date.now()`). */
  time: number;
  level: LogLevelName;
  msg: string;
  /**
   * The fields' keys, `log.fields` first, then the line's own; a later one with the same key
   * wins. Two lists rather than pairs or an object: a line allocates two arrays, not one per
   * field, and copies no dozen dotted keys into an object.
   */
  keys: readonly string[];
  /** `values[i]` is the value of `keys[i]`; an undefined one is left out of the line. */
  values: readonly unknown[];
}

/** `layout`: `layoutOf(formatter, entry.keys)`, which a writer of lines with the same keys every time works out once. */
export function formatEntry(formatter: LogFormatter, entry: LogEntry, layout = layoutOf(formatter, entry.keys)): string {
  const time = isoTime(entry.time);
  const { order, heads } = layout;
  const { values } = entry;
  switch (formatter) {
    case 'text': {
      // logrus's TextFormatter without a terminal: `time=… level=… msg=…` then the fields, sorted.
      let line = `time="${time}" level=${entry.level} msg=${textValue(entry.msg)}`;
      for (let i = 0; i < order.length; i++) {
        const value = values[order[i]!];
        if (value !== undefined) line += heads[i]! + textValue(value);
      }
      return line;
    }
    case 'json':
    case 'logstash': {
      // logrus's JSONFormatter marshals a map: its keys come out sorted. The formatter's own
      // fields (ownKeys) follow the line's, so they win over a field of the same key.
      const own = formatter === 'json' ? [entry.level, entry.msg, time] : [time, '1', entry.level, entry.msg];
      let line = '{';
      for (let i = 0; i < order.length; i++) {
        const index = order[i]!;
        const value = index < values.length ? values[index] : own[index - values.length];
        if (value !== undefined) line += (line.length > 1 ? ',' : '') + heads[i]! + jsonValue(value);
      }
      return `${line}}`;
    }
  }
}

/**
 * `new Date(ms).toISOString()`, as lines have always had it. toISOString cost ~2 µs, more than the
 * rest of a line: its text up to the second is kept and only the milliseconds are written.
 * Exported for its spec.
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    // Throws for an invalid time (NaN never equals isoSecond), as toISOString does.
    isoUpToSecond = new Date(ms).toISOString().slice(0, -'000Z'.length);
    isoSecond = second;
  }
  return `${isoUpToSecond}${threeDigits[ms - second * 1000]}Z`;
}

let isoSecond = NaN;
let isoUpToSecond = '';
const threeDigits = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/** The formatters' own fields, in the order formatEntry gives their values. */
const ownKeys: Record<LogFormatter, readonly string[]> = {
  text: [],
  json: ['level', 'msg', 'time'],
  // logrus-logstash-hook's LogstashFormatter (the reference's `logstash`).
  logstash: ['@timestamp', '@version', 'level', 'message'],
};

/** How a line with given keys is written, worked out once per list of keys. */
export interface Layout {
  /** Indices into the line's values (then the formatter's own), sorted by key, the last of equal keys only. */
  readonly order: readonly number[];
  /** What is written before each value of `order`: ` key=` (text) or `"key":` (json). */
  readonly heads: readonly string[];
}

/**
 * Layouts by their lists of keys, as a tree walked one key at a time: a line costs a map
 * look-up per key (keys are interned strings, their hashes kept), no string of every key
 * joined, and two different lists of keys can never meet at one node.
 */
interface LayoutNode {
  readonly next: Map<string, LayoutNode>;
  layout?: Layout;
}

const layoutTrees: Record<LogFormatter, LayoutNode> = { text: { next: new Map() }, json: { next: new Map() }, logstash: { next: new Map() } };
// A kind of line takes a node per key (an access line some twenty), shared with the kinds that start alike.
const MAX_LAYOUT_NODES = 4096;
let layoutNodes = 0;

export function layoutOf(formatter: LogFormatter, keys: readonly string[]): Layout {
  let node = layoutTrees[formatter];
  for (const key of keys) {
    let next = node.next.get(key);
    if (next === undefined) {
      // Keys that vary without end (a caller's own) must not grow the memory: past the limit, worked out each time.
      if (layoutNodes >= MAX_LAYOUT_NODES) return newLayout(formatter, keys);
      next = { next: new Map() };
      node.next.set(key, next);
      layoutNodes++;
    }
    node = next;
  }
  return (node.layout ??= newLayout(formatter, keys));
}

function newLayout(formatter: LogFormatter, lineKeys: readonly string[]): Layout {
  const keys = [...lineKeys, ...ownKeys[formatter]];
  const sorted = keys.map((key, index) => [key, index] as const).sort(([a, i], [b, j]) => (a < b ? -1 : a > b ? 1 : i - j));
  const order: number[] = [];
  for (const [key, index] of sorted) {
    if (order.length > 0 && keys[order[order.length - 1]!] === key) order[order.length - 1] = index;
    else order.push(index);
  }
  const heads = order.map((index) => (formatter === 'text' ? ` ${keys[index]}=` : `${JSON.stringify(keys[index])}:`));
  return { order, heads };
}

// logrus quotes a value with any character outside these (and an empty one, here, to keep it visible).
const bareCharacters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/@^+';
const isBareCode = new Uint8Array(128);
for (let i = 0; i < bareCharacters.length; i++) isBareCode[bareCharacters.charCodeAt(i)] = 1;

/** A value as logrus's TextFormatter writes it: bare if it can be, else quoted. Exported for its spec. */
export function textValue(value: unknown): string {
  // A finite number or a boolean is bare text (digits, '-', '.', 'e', '+'), no test needed.
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  // String(): JSON.stringify gives undefined for a function or a symbol, written `undefined`.
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : String(JSON.stringify(value));
  return isBare(text) ? text : jsonString(text);
}

// A loop over char codes: cheaper than the regular expression it replaced, /^[A-Za-z0-9\-._/@^+]+$/.
function isBare(text: string): boolean {
  if (text === '') return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || isBareCode[code] === 0) return false;
  }
  return true;
}

/**
 * A value as JSON.stringify writes it; `null` for what it cannot write (a function, a symbol),
 * where `"key":undefined` would make the line no JSON at all. Exported for its spec.
 */
export function jsonValue(value: unknown): string {
  if (typeof value === 'string') return jsonString(value);
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}

/**
 * JSON.stringify(text): text with nothing to escape (no quote, backslash, control character
 * or UTF-16 surrogate, which JSON.stringify escapes when alone) is only put in quotes.
 */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}
