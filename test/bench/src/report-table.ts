import type { Measurement } from './scenarios';

export interface TargetResults {
  readonly target: string;
  readonly measurements: readonly Measurement[];
}

/**
 * scenario | <each target> | ratio, as a Markdown table. The ratio is berth / reference, so
 * above 1 is better where higher is better, and below 1 is better where lower is.
 */
export function formatTable(results: readonly TargetResults[]): string {
  const reference = results.find((result) => result.target === 'reference');
  const berth = results.find((result) => result.target === 'berth');
  const withRatio = reference !== undefined && berth !== undefined;
  const header = ['scenario', ...results.map((result) => result.target), ...(withRatio ? ['ratio berth/reference'] : [])];
  const rows = (results[0]?.measurements ?? []).map((first) => {
    const value = (result: TargetResults | undefined): number | undefined =>
      result?.measurements.find((m) => m.scenario === first.scenario)?.value;
    const label = `${first.scenario}, ${first.unit}${first.higherIsBetter ? '' : ' (lower is better)'}`;
    const cells = results.map((result) => format(value(result)));
    if (withRatio) {
      const [b, r] = [value(berth), value(reference)];
      cells.push(b === undefined || r === undefined || r === 0 ? 'n/a' : `${(b / r).toFixed(2)}×`);
    }
    return [label, ...cells];
  });
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function format(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}
