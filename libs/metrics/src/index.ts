export { type BusOutcome, type CacheResult, METRICS, Metrics, noMetrics } from './metrics';
export { CellCounter, CellGauge, CellHistogram, CounterCell, GaugeCell, HistogramCell } from './cells';
export { instrumentClient, instrumentLinkCache } from './instrument';
export { DebugServer, type DebugServerOptions, type ReadinessCheck } from './debug-server';
