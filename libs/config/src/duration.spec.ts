import { describe, expect, it } from 'vitest';
import { formatGoDuration, parseGoDuration } from './duration';

describe('parseGoDuration', () => {
  it.each([
    ['10s', 10_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1.s', 1000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['0', 0],
    ['-2m', -120_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(['', '10', '10x', 's', '1h 30m', '.s', '1d', '-', '10S'])('refuses %j, as Go does', (text) => {
    expect(parseGoDuration(text)).toEqual({ ok: false });
  });
});

describe('formatGoDuration', () => {
  it.each([
    [10_000, '10s'],
    [604_800_000, '168h'],
    [5_400_000, '90m'],
    [1500, '1500ms'],
    [0.25, '250us'],
    [0.00001, '10ns'],
    [0, '0s'],
  ])('writes %d ms as %s, which reads back the same', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
    expect(parseGoDuration(text)).toEqual({ ok: true, ms });
  });
});
