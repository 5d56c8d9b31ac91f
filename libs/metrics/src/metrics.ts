import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { CellCounter, CellGauge, CellHistogram, type CounterCell, type HistogramCell } from './cells';
import type { DriverObserver, DriverOutcome } from '@berth/storage-driver';

interface DriverCells {
  readonly duration: HistogramCell;
  readonly calls: CounterCell;
}

/**
 * How often the event-loop lag histogram samples. prom-client's 10 ms wakes an idle process a
 * hundred times a second: 7.6 ms of CPU a second per process here, against 1.1 at 100 ms. A
 * stall shorter than this is caught in proportion to its length; longer ones always.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** The token under which the composition root provides this process's `Metrics`. */
export const METRICS = Symbol.for('berth.metrics');

/** The reference's HTTP duration buckets (docker/go-metrics defaultDurationBuckets). */
const httpBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];
/** Storage and bus calls are mostly well under a millisecond on a local disk. */
const callBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Where a cache lookup ended. */
export type CacheResult = 'hit' | 'miss' | 'error';
/** What a bus call came to. */
export type BusOutcome = 'ok' | 'error' | 'timeout';

/**
 * Every metric of one process, in one registry (no global state: two services in one test
 * process keep their own). Names follow the reference's where it has them (`registry_http_*`,
 * `registry_storage_*`, docker/go-metrics' shapes); berth's own are `berth_*`. The README's
 * metrics table lists each. `enabled` false (the default, `http.debug.prometheus.enabled`):
 * nothing calls these, so switched off they cost nothing.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new CellCounter({
    name: 'registry_http_requests_total',
    help: 'Total number of HTTP requests made.',
    labelNames: ['handler', 'code', 'method'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new CellHistogram({
    name: 'registry_http_request_duration_seconds',
    help: 'The HTTP request latencies in seconds.',
    labelNames: ['handler', 'method'] as const,
    buckets: httpBuckets,
    registers: [this.registry],
  });
  readonly httpInFlight = new CellGauge({
    name: 'registry_http_in_flight_requests',
    help: 'The in-flight HTTP requests.',
    labelNames: ['handler'] as const,
    registers: [this.registry],
  });
  readonly pushedBytes = new CellCounter({
    name: 'berth_pushed_bytes_total',
    help: 'Bytes received from clients and stored: blob upload bodies (upload service), manifest bodies (gateway).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly pulledBytes = new CellCounter({
    name: 'berth_pulled_bytes_total',
    help: 'Bytes of blobs and manifests sent to clients in GET responses.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly storageAction = new CellHistogram({
    name: 'registry_storage_action_seconds',
    help: 'The number of seconds that the storage action takes',
    labelNames: ['driver', 'action'] as const,
    buckets: callBuckets,
    registers: [this.registry],
  });
  readonly storageActions = new CellCounter({
    name: 'berth_storage_actions_total',
    help: 'Storage driver calls by driver, action and outcome (ok, not_found, error).',
    labelNames: ['driver', 'action', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly cacheRequests = new CellCounter({
    name: 'registry_storage_cache_requests_total',
    help: 'The number of cache request received',
    registers: [this.registry],
  });
  readonly cacheHits = new CellCounter({
    name: 'registry_storage_cache_hits_total',
    help: 'The number of cache request received',
    registers: [this.registry],
  });
  readonly cacheErrors = new CellCounter({
    name: 'registry_storage_cache_errors_total',
    help: 'The number of cache request errors',
    registers: [this.registry],
  });
  readonly cacheLookups = new CellCounter({
    name: 'berth_cache_lookups_total',
    help: 'Cache lookups by cache (link: linked blobs and tags; manifest: manifest bytes) and result (hit, miss, error).',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly busCalls = new CellCounter({
    name: 'berth_bus_calls_total',
    help: 'Calls from this process to another service, by message and outcome (ok, error, timeout).',
    labelNames: ['message', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly busDuration = new CellHistogram({
    name: 'berth_bus_call_duration_seconds',
    help: 'How long a call to another service took until its reply (or its timeout).',
    labelNames: ['message'] as const,
    buckets: callBuckets,
    registers: [this.registry],
  });
  readonly busInFlight = new CellGauge({
    name: 'berth_bus_calls_in_flight',
    help: 'Calls sent by this process and not yet answered, by message.',
    labelNames: ['message'] as const,
    registers: [this.registry],
  });
  readonly busQueueDepth = new Gauge({
    name: 'berth_bus_queue_depth',
    help: 'Requests waiting in a message\'s queue, not yet taken by any replica (distributed gateway; read from Redis at scrape).',
    labelNames: ['message'] as const,
    registers: [this.registry],
  });

  readonly uploadsOpen = new Gauge({
    name: 'berth_upload_sessions_open',
    help: 'Upload sessions started by this upload instance minus those it finished or cancelled (summed across instances: the cluster\'s open sessions, purged ones aside).',
    registers: [this.registry],
  });
  readonly uploadsStarted = new Counter({
    name: 'berth_upload_sessions_started_total',
    help: 'Upload sessions started (POST without a digest or mount).',
    registers: [this.registry],
  });
  readonly uploadsEnded = new Counter({
    name: 'berth_upload_sessions_ended_total',
    help: 'Upload sessions ended, by outcome (committed, cancelled).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly healthCheck = new Gauge({
    name: 'berth_health_check_healthy',
    help: 'Each health check\'s state as published: 1 healthy, 0 unhealthy.',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });
  readonly healthFailures = new Gauge({
    name: 'berth_health_check_consecutive_failures',
    help: 'Each health check\'s failures in a row.',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });
  readonly healthSeconds = new Gauge({
    name: 'berth_health_check_seconds',
    help: 'How long each health check\'s last run took (the storage probes\' latency: berth_writeprobe puts, reads back and deletes an object; berth_readprobe reads one).',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });

  readonly gcRuns = new Counter({
    name: 'berth_gc_runs_total',
    help: 'Online garbage collection runs this instance started, by outcome (collected, skipped, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly gcFreedBytes = new Counter({
    name: 'berth_gc_freed_bytes_total',
    help: 'Blob bytes deleted by the online garbage collection runs of this instance (none in a dry run).',
    registers: [this.registry],
  });
  readonly storageReferencedBytes = new Gauge({
    name: 'berth_storage_referenced_bytes',
    help: 'Bytes the manifests reference, each blob counted once across the registry, as measured after this instance\'s last collection run.',
    registers: [this.registry],
  });
  readonly repositoryReferencedBytes = new Gauge({
    name: 'berth_storage_repository_referenced_bytes',
    help: 'Bytes each repository\'s manifests reference (a blob counted once in a repository), as measured after this instance\'s last collection run.',
    labelNames: ['repository'] as const,
    registers: [this.registry],
  });
  readonly storageMeasuredAt = new Gauge({
    name: 'berth_storage_use_measured_timestamp_seconds',
    help: 'When this instance last measured the storage use above (Unix time): with several upload instances, the latest one holds the current figures.',
    registers: [this.registry],
  });

  private readonly scrapeHooks: (() => Promise<void>)[] = [];

  constructor(readonly enabled: boolean) {
    if (enabled) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  /**
   * Storage calls into `registry_storage_action_seconds` and `berth_storage_actions_total`. A label
   * set's cells are found through one map per label: no key string is built per call (which, with
   * its hashing, cost more than updating the cells).
   */
  readonly observeDriver: DriverObserver = (driver, action, outcome, seconds) => {
    const cells = this.driverCells.get(driver)?.get(action)?.get(outcome) ?? this.newDriverCells(driver, action, outcome);
    cells.duration.observe(seconds);
    cells.calls.inc();
  };
  private readonly driverCells = new Map<string, Map<string, Map<DriverOutcome, DriverCells>>>();

  private newDriverCells(driver: string, action: string, outcome: DriverOutcome): DriverCells {
    const cells = { duration: this.storageAction.cell(driver, action), calls: this.storageActions.cell(driver, action, outcome) };
    const byAction = this.driverCells.get(driver) ?? new Map<string, Map<DriverOutcome, DriverCells>>();
    const byOutcome = byAction.get(action) ?? new Map<DriverOutcome, DriverCells>();
    byOutcome.set(outcome, cells);
    byAction.set(action, byOutcome);
    this.driverCells.set(driver, byAction);
    return cells;
  }

  /** Each cache's lookups by result: `berth_cache_lookups_total`, and the reference's counters for the link cache. */
  private readonly cacheCells = {
    link: {
      hit: [this.cacheLookups.cell('link', 'hit'), this.cacheRequests.cell(), this.cacheHits.cell()],
      miss: [this.cacheLookups.cell('link', 'miss'), this.cacheRequests.cell()],
      error: [this.cacheLookups.cell('link', 'error'), this.cacheRequests.cell(), this.cacheErrors.cell()],
    },
    manifest: {
      hit: [this.cacheLookups.cell('manifest', 'hit')],
      miss: [this.cacheLookups.cell('manifest', 'miss')],
      error: [this.cacheLookups.cell('manifest', 'error')],
    },
  } satisfies Record<'link' | 'manifest', Record<CacheResult, CounterCell[]>>;

  /** One cache lookup, in the reference's counters (link cache only) and berth's. */
  cacheLookup(cache: 'link' | 'manifest', result: CacheResult): void {
    if (!this.enabled) return;
    for (const cell of this.cacheCells[cache][result]) cell.inc();
  }

  /** Runs `hook` before each scrape, to read what is measured elsewhere (Redis); a failing hook leaves the last values. */
  beforeScrape(hook: () => Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  /** The text a Prometheus scrape takes. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    await Promise.allSettled(this.scrapeHooks.map((hook) => hook()));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** For what runs without a composition root (unit tests): metrics switched off. */
export const noMetrics = new Metrics(false);
