import { Counter, type CounterConfiguration, Gauge, type GaugeConfiguration, Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

/*
 * prom-client finds a label set's value on every update: each `inc` or `observe`, through a
 * `labels()` child too, checks the label names, builds a string key from them and looks it up
 * (a histogram then turns its bucket's bound into a property name): about 1 µs per counter
 * update and 3 µs per histogram observation, several per request. These metrics keep one cell
 * per label set instead, found once and held by the hot path, updated with plain arithmetic;
 * prom-client reads the cells when scraped, so the exposition is its own, unchanged.
 */

/** One label set's count: added to on the hot path, added into prom-client's counter at scrape. */
export class CounterCell {
  pending = 0;
  constructor(readonly labels: LabelValues<string>) {}
  inc(by = 1): void {
    this.pending += by;
  }
}

/** One label set's current value. */
export class GaugeCell {
  value = 0;
  constructor(readonly labels: LabelValues<string>) {}
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
}

/** One label set's observations: a count per bucket (the last past every bound), their sum and number. */
export class HistogramCell {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: LabelValues<string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.sum += value;
    this.count++;
  }
}

/** The cell of each label set, by its values joined: made on first use, kept for the process's life. */
class Cells<C> {
  private readonly byKey = new Map<string, C>();
  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: (labels: LabelValues<string>) => C,
  ) {}

  get(values: readonly (string | number)[]): C {
    const key = values.length === 1 ? String(values[0]) : values.join('\0');
    let cell = this.byKey.get(key);
    if (cell === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`expected ${this.labelNames.length} label values, got ${values.length}`);
      const labels: LabelValues<string> = {};
      this.labelNames.forEach((name, index) => (labels[name] = values[index]!));
      cell = this.make(labels);
      this.byKey.set(key, cell);
    }
    return cell;
  }

  all(): IterableIterator<C> {
    return this.byKey.values();
  }
}

/** A prom-client counter whose hot updates go through {@link CounterCell}s (`cell(...)`). */
export class CellCounter<T extends string> extends Counter<T> {
  private readonly cells: Cells<CounterCell>;

  constructor(config: Omit<CounterConfiguration<T>, 'collect'>) {
    super({
      ...config,
      collect() {
        (this as CellCounter<T>).flush();
      },
    });
    this.cells = new Cells(config.labelNames ?? [], (labels) => new CounterCell(labels));
  }

  /** The cell of these label values, in `labelNames` order: hold it where it is used again. */
  cell(...values: (string | number)[]): CounterCell {
    return this.cells.get(values);
  }

  private flush(): void {
    for (const cell of this.cells.all()) {
      if (cell.pending === 0) continue;
      const pending = cell.pending;
      cell.pending = 0;
      this.inc(cell.labels as LabelValues<T>, pending);
    }
  }
}

/** A prom-client gauge whose hot updates (a count in flight) go through {@link GaugeCell}s. */
export class CellGauge<T extends string> extends Gauge<T> {
  private readonly cells: Cells<GaugeCell>;

  constructor(config: Omit<GaugeConfiguration<T>, 'collect'>) {
    super({
      ...config,
      collect() {
        const gauge = this as CellGauge<T>;
        for (const cell of gauge.cells.all()) gauge.set(cell.labels as LabelValues<T>, cell.value);
      },
    });
    this.cells = new Cells(config.labelNames ?? [], (labels) => new GaugeCell(labels));
  }

  cell(...values: (string | number)[]): GaugeCell {
    return this.cells.get(values);
  }
}

/** A series as a prom-client metric hands it to its registry: a histogram's `le` in `labels`, its label set in `sharedLabels`. */
interface SeriesValue {
  value: number;
  labels: LabelValues<string>;
  sharedLabels: LabelValues<string>;
  metricName: string;
  /** prom-client's buckets carry one (null without exemplars). */
  exemplar?: null;
}

/**
 * A prom-client histogram observed only through {@link HistogramCell}s: scraped, it answers
 * from them in the shape prom-client's own histogram gives its registry (cumulative `_bucket`
 * series with `le`, then `+Inf`, `_sum` and `_count`), so the exposition is the same.
 */
export class CellHistogram<T extends string> extends Histogram<T> {
  private readonly cells: Cells<HistogramCell>;
  private readonly bounds: readonly number[];
  private readonly described: { name: string; help: string };

  constructor(config: Omit<HistogramConfiguration<T>, 'collect' | 'enableExemplars'> & { buckets: number[] }) {
    super(config);
    const bounds = [...config.buckets].sort((a, b) => a - b);
    this.bounds = bounds;
    this.described = { name: config.name, help: config.help };
    this.cells = new Cells(config.labelNames ?? [], (labels) => new HistogramCell(labels, bounds));
    // Only cells count: an observation through prom-client's own API would never be scraped.
    // (prom-client sets `observe` on the instance, so it is replaced there.)
    const refuse = () => {
      throw new Error(`${config.name}: observe through cell(...)`);
    };
    Object.defineProperty(this, 'observe', { value: refuse });
    Object.defineProperty(this, 'labels', { value: refuse });
  }

  cell(...values: (string | number)[]): HistogramCell {
    return this.cells.get(values);
  }


  /** What the registry formats (it prefers this to `get`). */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: SeriesValue[]; aggregator: 'sum' }> {
    const { name, help } = this.described;
    const values: SeriesValue[] = [];
    const bucket = `${name}_bucket`;
    for (const cell of this.cells.all()) {
      const sharedLabels = cell.labels;
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += cell.counts[index]!;
        values.push({ labels: { le: bound }, sharedLabels, value: cumulative, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels, value: cell.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels, value: cell.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels, value: cell.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** As prom-client's: each series' labels with its label set's. */
  override async get(): Promise<Awaited<ReturnType<Histogram<T>['get']>>> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values } as unknown as Awaited<ReturnType<Histogram<T>['get']>>;
  }
}
