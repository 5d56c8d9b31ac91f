import { z } from 'zod';
import { parseGoDuration } from '../duration';
import { splitHostPort } from '../listen-address';
import { describeValue } from '../yaml-document';

/**
 * Scalars as the file holds them: the text that was written (see yaml-document.ts). Each
 * reads its own type from that text and says, in one phrase, what is wrong with it.
 */
type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export const missingMessage = 'missing: this key is required';

function scalar<T>(parse: (text: string) => Parsed<T>) {
  return z.unknown().transform((input, ctx): T => {
    if (input === undefined || input === null) {
      ctx.issues.push({ code: 'custom', message: missingMessage, input });
      return z.NEVER;
    }
    if (typeof input !== 'string' && typeof input !== 'number' && typeof input !== 'boolean') {
      ctx.issues.push({ code: 'custom', message: `expected a value, got ${describeValue(input)}`, input });
      return z.NEVER;
    }
    const result = parse(String(input));
    if (!result.ok) {
      ctx.issues.push({ code: 'custom', message: result.message, input });
      return z.NEVER;
    }
    return result.value;
  });
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

/** Any scalar, as written. */
export const text = scalar((value) => ok(value));

/** A string that must not be empty (names, paths, realms). */
export const name = scalar((value) => (value === '' ? fail('must not be empty') : ok(value)));

// yaml.v2 resolves these words to booleans (YAML 1.1).
const trueWords = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'y', 'Y', 'on', 'On', 'ON']);
const falseWords = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'n', 'N', 'off', 'Off', 'OFF']);

export const bool = scalar((value) => {
  if (trueWords.has(value)) return ok(true);
  if (falseWords.has(value)) return ok(false);
  return fail(`${JSON.stringify(value)} is not a boolean (use true or false)`);
});

export function int(options: { min?: number; max?: number } = {}) {
  return scalar((value) => {
    if (!/^[-+]?\d+$/.test(value)) return fail(`${JSON.stringify(value)} is not a whole number`);
    const number = Number(value);
    if (options.min !== undefined && number < options.min) {
      return fail(options.min === 0 ? `must not be negative, got ${number}` : `must be at least ${options.min}, got ${number}`);
    }
    if (options.max !== undefined && number > options.max) return fail(`must be at most ${options.max}, got ${number}`);
    return ok(number);
  });
}

/**
 * A `time.Duration` key, in milliseconds. Go syntax (`10s`, `1h30m`, `500ms`); a bare
 * whole number is nanoseconds, as yaml.v2 decodes an integer into a time.Duration — unless
 * `unitRequired`, for the keys the reference reads as strings and hands to time.ParseDuration
 * itself (storage.maintenance.uploadpurging.age and .interval).
 */
export function duration(options: { unitRequired?: boolean; positive?: boolean } = {}) {
  return scalar((value) => {
    let ms: number;
    if (!options.unitRequired && /^[-+]?\d+$/.test(value)) ms = Number(value) / 1e6;
    else {
      const parsed = parseGoDuration(value);
      if (!parsed.ok) return fail(`${JSON.stringify(value)} is not a duration (use 10s, 5m, 1h)`);
      ms = parsed.ms;
    }
    if (ms < 0) return fail(`${JSON.stringify(value)} must not be negative`);
    if (options.positive && ms === 0) return fail(`${JSON.stringify(value)} must be longer than 0`);
    return ok(ms);
  });
}

export function oneOf<const T extends readonly string[]>(values: T, options: { ignoreCase?: boolean } = {}) {
  return scalar((value): Parsed<T[number]> => {
    const candidate = options.ignoreCase ? value.toLowerCase() : value;
    const match = values.find((allowed) => allowed === candidate);
    return match === undefined ? fail(`${JSON.stringify(value)} is not one of: ${values.join(', ')}`) : ok(match);
  });
}

export const httpUrl = scalar((value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`${JSON.stringify(value)} is not a URL (use http://HOST/… or https://HOST/…)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`${JSON.stringify(value)} is not an http or https URL`);
  }
  return ok(value);
});

/** A TCP listen address as Go's net.Listen takes it: `HOST:PORT`, `:PORT` (every interface), `[IPv6]:PORT`. */
export function isListenAddress(value: string): boolean {
  return splitHostPort(value) !== undefined;
}

export const listenAddress = scalar((value) =>
  isListenAddress(value)
    ? ok(value)
    : fail(`${JSON.stringify(value)} is not a listen address (use HOST:PORT or :PORT, e.g. :5000)`),
);

/**
 * An address to dial, as Go's net.Dial takes it: `HOST:PORT` (`:PORT` is this machine). Empty
 * is accepted as unset, as the reference reads it.
 */
export const dialAddress = scalar((value) =>
  value === '' || splitHostPort(value) !== undefined ? ok(value) : fail(`${JSON.stringify(value)} is not HOST:PORT (e.g. localhost:6379)`),
);

/** A list of the reference's regular expressions (Go RE2), checked to compile here too. */
export const patternList = z.array(
  scalar((value) => {
    try {
      new RegExp(value);
      return ok(value);
    } catch (error) {
      return fail(`${JSON.stringify(value)} is not a regular expression (${(error as Error).message})`);
    }
  }),
);

export const textList = z.array(text);

/** An `http.Header`: each name maps to a list of values (`X-Content-Type-Options: [nosniff]`). */
export const headerMap = z.record(z.string(), textList);

/** A mapping of free-form values (log fields, middleware options). */
export const freeForm = z.record(z.string(), z.unknown());
