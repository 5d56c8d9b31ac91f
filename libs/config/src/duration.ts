/**
 * Go's `time.ParseDuration` grammar, which the reference uses for every duration key:
 * an optional sign, then one or more `<number><unit>` terms (`1h30m`, `1.5s`, `.5ms`),
 * units ns, us (or µs, μs), ms, s, m, h; a bare `0` is allowed. Results are in milliseconds.
 */
const nanosPerUnit: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu: Go accepts both
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const term = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
// time.Duration is an int64 of nanoseconds: about 292 years.
const maxNanos = 2 ** 63 - 1;

export type DurationResult = { ok: true; ms: number } | { ok: false };

/** Parses Go duration text (`10s`, `1h30m`, `500ms`) into milliseconds. */
export function parseGoDuration(text: string): DurationResult {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, ms: 0 };
  if (rest === '') return { ok: false };
  let nanos = 0;
  term.lastIndex = 0;
  while (term.lastIndex < rest.length) {
    const match = term.exec(rest);
    if (!match) return { ok: false };
    const [, amount = '', unit = ''] = match;
    nanos += Number(amount) * (nanosPerUnit[unit] ?? Number.NaN);
  }
  if (!Number.isFinite(nanos) || nanos > maxNanos) return { ok: false };
  return { ok: true, ms: (sign * nanos) / 1e6 };
}

/**
 * The shortest Go duration text that parses back to exactly `ms` (`10s`, `168h`, `1500us`),
 * so a printed configuration loads again unchanged.
 */
export function formatGoDuration(ms: number): string {
  const nanos = Math.round(ms * 1e6);
  if (nanos === 0) return '0s';
  for (const unit of ['h', 'm', 's', 'ms', 'us'] as const) {
    const size = nanosPerUnit[unit] ?? 1;
    if (nanos % size === 0) return `${nanos / size}${unit}`;
  }
  return `${nanos}ns`;
}
