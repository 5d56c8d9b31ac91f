/** One scrape of a Prometheus exposition: every sample by its series (`name{label="v",...}` as printed). */
export type MetricSamples = Map<string, number>;

/** GETs `url` (a `/metrics` endpoint) and reads each sample line; comments and blank lines are skipped. */
export async function scrapeMetrics(url: string): Promise<MetricSamples> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const samples: MetricSamples = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * The sum of the samples of metric `name` whose labels include every one of `labels`, as in
 * PromQL's `sum(name{labels})`; 0 when there is none.
 */
export function sampleSum(samples: MetricSamples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    const text = brace < 0 ? '' : series.slice(brace);
    if (Object.entries(labels).every(([label, wanted]) => text.includes(`${label}="${wanted}"`))) sum += value;
  }
  return sum;
}

/** `after - before` of {@link sampleSum}: what the traffic between two scrapes added. */
export function sampleDelta(before: MetricSamples, after: MetricSamples, name: string, labels: Record<string, string> = {}): number {
  return sampleSum(after, name, labels) - sampleSum(before, name, labels);
}
