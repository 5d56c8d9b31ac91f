import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CellCounter, CellGauge, CellHistogram } from './cells';

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The same updates made through cells and through prom-client's own metrics: a scrape must
 * read the same text, so Prometheus (and the README's metrics table) cannot tell them apart.
 */
function pair() {
  const cells = new Registry();
  const plain = new Registry();
  const config = { help: 'h', labelNames: ['handler', 'method'] as const };
  return {
    cells,
    plain,
    histograms: [
      new CellHistogram({ name: 'latency_seconds', buckets, ...config, registers: [cells] }),
      new Histogram({ name: 'latency_seconds', buckets, ...config, registers: [plain] }),
    ] as const,
    counters: [
      new CellCounter({ name: 'requests_total', ...config, registers: [cells] }),
      new Counter({ name: 'requests_total', ...config, registers: [plain] }),
    ] as const,
    gauges: [
      new CellGauge({ name: 'in_flight', ...config, registers: [cells] }),
      new Gauge({ name: 'in_flight', ...config, registers: [plain] }),
    ] as const,
    unlabelled: [
      new CellCounter({ name: 'lookups_total', help: 'h', registers: [cells] }),
      new Counter({ name: 'lookups_total', help: 'h', registers: [plain] }),
    ] as const,
  };
}

describe('metric cells', () => {
  it('scrape as prom-client scrapes its own histograms, counters and gauges, scrape after scrape', async () => {
    const { cells, plain, histograms, counters, gauges, unlabelled } = pair();
    const observations: [string, string, number][] = [
      ['manifest', 'HEAD', 0.0001],
      ['manifest', 'HEAD', 0.005],
      ['manifest', 'GET', 0.0123],
      ['blob', 'GET', 0.7],
      ['blob', 'GET', 3],
      ['manifest', 'HEAD', 0.05],
    ];
    for (const round of [observations, observations.slice(2)]) {
      for (const [handler, method, seconds] of round) {
        histograms[0].cell(handler, method).observe(seconds);
        histograms[1].labels(handler, method).observe(seconds);
        counters[0].cell(handler, method).inc();
        counters[1].labels(handler, method).inc();
        counters[0].cell(handler, method).inc(512);
        counters[1].labels(handler, method).inc(512);
        gauges[0].cell(handler, method).inc();
        gauges[1].labels(handler, method).inc();
        unlabelled[0].cell().inc();
        unlabelled[1].inc();
      }
      gauges[0].cell('blob', 'GET').dec();
      gauges[1].labels('blob', 'GET').dec();
      const text = await cells.metrics();
      expect(text).toBe(await plain.metrics());
      expect(text).toContain('latency_seconds_bucket{le="0.005",handler="manifest",method="HEAD"}');
    }
    expect(await cells.getMetricsAsJSON()).toEqual(await plain.getMetricsAsJSON());
  });

  it('a cell is found once per label set; a histogram refuses observations that would bypass its cells', () => {
    const { histograms, counters } = pair();
    expect(histograms[0].cell('manifest', 'HEAD')).toBe(histograms[0].cell('manifest', 'HEAD'));
    expect(counters[0].cell('manifest', 'HEAD')).not.toBe(counters[0].cell('manifest', 'GET'));
    expect(() => counters[0].cell('manifest')).toThrow(/expected 2 label values/);
    expect(() => histograms[0].observe(1)).toThrow(/observe through cell/);
    expect(() => histograms[0].labels('manifest', 'HEAD')).toThrow(/observe through cell/);
  });
});
