import { describe, expect, it } from 'vitest';
import { formatTable, type TargetResults } from './report-table';

const push = (value: number) => ({ scenario: 'push', unit: 'MiB/s', higherIsBetter: true, value });
const cpu = (value: number) => ({ scenario: 'server CPU', unit: 's', higherIsBetter: false, value });

describe('formatTable', () => {
  const results: TargetResults[] = [
    { target: 'reference', measurements: [push(100), cpu(20)] },
    { target: 'berth', measurements: [push(250), cpu(10)] },
    { target: 'distributed', measurements: [push(80), cpu(0.25)] },
  ];

  it('gives every other column its ratio to the reference, and prints the notes beneath', () => {
    const lines = formatTable(results, ['Storage: the filesystem.']).split('\n');
    expect(lines[0]).toMatch(/^\| scenario +\| reference \| berth \| distributed \| berth\/reference \| distributed\/reference \|$/);
    expect(lines[2]!.split('|').map((cell) => cell.trim())).toEqual(['', 'push, MiB/s', '100', '250', '80.0', '2.50×', '0.80×', '']);
    expect(lines[3]!.split('|').map((cell) => cell.trim())).toEqual([
      '',
      'server CPU, s (lower is better)',
      '20.0',
      '10.0',
      '0.25',
      '0.50×',
      '0.01×',
      '',
    ]);
    expect(lines.slice(4)).toEqual(['', 'Storage: the filesystem.']);
  });

  it('has no ratio columns without the reference', () => {
    const header = formatTable(results.slice(1)).split('\n')[0]!;
    expect(header).not.toContain('/reference');
    expect(header).toContain('distributed');
  });

  it('against another baseline: what a feature costs berth (berth-metrics/berth)', () => {
    const berth = results.find((result) => result.target === 'berth')!;
    const lines = formatTable([berth, { target: 'berth-metrics', measurements: [push(240), cpu(10.5)] }], [], 'berth').split('\n');
    expect(lines[0]).toMatch(/\| berth \| berth-metrics \| berth-metrics\/berth \|$/);
    expect(lines[2]!.split('|').map((cell) => cell.trim()).slice(-2)).toEqual(['0.96×', '']);
    expect(lines[3]!.split('|').map((cell) => cell.trim()).slice(-2)).toEqual(['1.05×', '']);
  });
});
