import { describe, expect, it } from 'vitest';
import { goDuration } from './access-log';

describe('goDuration', () => {
  it('writes a duration as Go\'s time.Duration.String() does', () => {
    // Each expected text is what Go prints for time.Duration(n).
    const cases: [number, string][] = [
      [0, '0ns'],
      [999, '999ns'],
      [1_000, '1µs'],
      [123_456, '123.456µs'],
      [100_500, '100.5µs'],
      [100_005, '100.005µs'],
      [1_234_567, '1.234567ms'],
      [12_340_000, '12.34ms'],
      [1_500_000_000, '1.5s'],
      [61_000_000_001, '61.000000001s'],
    ];
    for (const [nanoseconds, text] of cases) expect(goDuration(nanoseconds)).toBe(text);
  });
});
