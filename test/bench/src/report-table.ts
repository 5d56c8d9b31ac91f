import type { Measurement } from './scenarios';

export interface TargetResults {
  readonly target: string;
  readonly measurements: readonly Measurement[];
}

/**
 * scenario | <each target> | <each other target>/reference | berth-metrics/berth, as a Markdown
 * table, with `notes` beneath it. Above 1 is better where higher is better, and below 1 where
 * lower is.
 */
export function formatTable(results: readonly TargetResults[], notes: readonly string[] = []): string {
  const reference = results.find((result) => result.target === 'reference');
  const compared = reference === undefined ? [] : results.filter((result) => result !== reference);
  // What metrics cost: the same berth with http.debug.prometheus on, against off.
  const plain = results.find((result) => result.target === 'berth');
  const metered = results.find((result) => result.target === 'berth-metrics');
  const costOfMetrics = plain !== undefined && metered !== undefined;
  const header = [
    'scenario',
    ...results.map((result) => result.target),
    ...compared.map((result) => `${result.target}/reference`),
    ...(costOfMetrics ? ['berth-metrics/berth'] : []),
  ];
  const rows = (results[0]?.measurements ?? []).map((first) => {
    const value = (result: TargetResults | undefined): number | undefined =>
      result?.measurements.find((m) => m.scenario === first.scenario)?.value;
    const label = `${first.scenario}, ${first.unit}${first.higherIsBetter ? '' : ' (lower is better)'}`;
    const ratio = (result: TargetResults, against: TargetResults | undefined = reference): string => {
      const [mine, theirs] = [value(result), value(against)];
      return mine === undefined || theirs === undefined || theirs === 0 ? 'n/a' : `${(mine / theirs).toFixed(2)}×`;
    };
    return [
      label,
      ...results.map((result) => format(value(result))),
      ...compared.map((result) => ratio(result)),
      ...(costOfMetrics ? [ratio(metered, plain)] : []),
    ];
  });
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

function format(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  // Two digits at least: the reference on Swift pushes images at 0.1 a second.
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2);
}
