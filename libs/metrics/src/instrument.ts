import type { Contract, LinkCache, MessageClient } from '@berth/contracts';
import type { Metrics } from './metrics';

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
  return {
    async send(pattern, request) {
      const startedAt = performance.now();
      const { inFlight, duration } = metrics.child(`bus\0${pattern}`, () => ({
        inFlight: metrics.busInFlight.labels(pattern),
        duration: metrics.busDuration.labels(pattern),
      }));
      inFlight.inc();
      let outcome: 'ok' | 'error' | 'timeout' = 'ok';
      try {
        return await client.send(pattern, request);
      } catch (error) {
        outcome = isTimeout(error) ? 'timeout' : 'error';
        throw error;
      } finally {
        inFlight.dec();
        metrics.child(`bus\0${pattern}\0${outcome}`, () => metrics.busCalls.labels(pattern, outcome)).inc();
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
