import type { Contract, LinkCache, MessageClient } from '@berth/contracts';
import type { CounterCell, GaugeCell, HistogramCell } from './cells';
import type { BusOutcome, Metrics } from './metrics';

/** A no-reply UNAVAILABLE of the Redis queue client ("no reply to P within N ms"), apart from other failures. */
function isTimeout(error: unknown): boolean {
  const detail = (error as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' && /^no reply to \S+ within/.test(detail);
}

/**
 * `client` with each call counted by message and outcome, timed, and counted in flight while
 * it waits: the caller's side of every bus call, whatever the transport.
 */
export function instrumentClient<M extends Contract<M>>(client: MessageClient<M>, metrics: Metrics): MessageClient<M> {
  if (!metrics.enabled) return client;
  // Each message's cells, found once: the call's in-flight gauge and duration, and its count by outcome.
  const cellsByPattern = new Map<string, { inFlight: GaugeCell; duration: HistogramCell; calls: Record<BusOutcome, CounterCell> }>();
  const cellsOf = (pattern: string) => {
    let cells = cellsByPattern.get(pattern);
    if (cells === undefined) {
      const calls = { ok: metrics.busCalls.cell(pattern, 'ok'), error: metrics.busCalls.cell(pattern, 'error'), timeout: metrics.busCalls.cell(pattern, 'timeout') };
      cells = { inFlight: metrics.busInFlight.cell(pattern), duration: metrics.busDuration.cell(pattern), calls };
      cellsByPattern.set(pattern, cells);
    }
    return cells;
  };
  return {
    async send(pattern, request) {
      const startedAt = performance.now();
      const { inFlight, duration, calls } = cellsOf(pattern);
      inFlight.inc();
      let outcome: BusOutcome = 'ok';
      try {
        return await client.send(pattern, request);
      } catch (error) {
        outcome = isTimeout(error) ? 'timeout' : 'error';
        throw error;
      } finally {
        inFlight.dec();
        calls[outcome].inc();
        duration.observe((performance.now() - startedAt) / 1000);
      }
    },
  };
}

/** `cache` with each read counted as a hit (answered from the cache) or a miss (loaded from storage). */
export function instrumentLinkCache(cache: LinkCache, metrics: Metrics): LinkCache {
  if (!metrics.enabled) return cache;
  return {
    async read(path, load) {
      let loaded = false;
      const value = await cache.read(path, () => {
        loaded = true;
        return load();
      });
      metrics.cacheLookup('link', loaded ? 'miss' : 'hit');
      return value;
    },
    invalidate: (paths) => cache.invalidate(paths),
  };
}
