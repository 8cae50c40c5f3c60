/**
 * The process's Prometheus registry and the metrics every long-running process shares: registry (OCI) traffic,
 * the tag cache, coalescing, and file reloads. Each process (and each server in a test process) owns its own
 * `Registry`; a room with metrics of its own (the webhook's reviews) registers them on the same one.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A fresh registry; with `defaultMetrics` (default on) the Node.js process metrics, prefixed `pinwarden_`. */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pinwarden_' });
  return registry;
}

/** Registry-side series, fed by the flows room's event sink (`registryMetricsSink`). */
export interface RegistryMetrics {
  request(endpoint: string, method: string, outcome: string, seconds: number): void;
  retry(endpoint: string): void;
  cache(outcome: 'hit' | 'miss'): void;
  coalesced(): void;
}

export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  const registers = [registry];
  const requests = new Counter({ name: 'pinwarden_registry_requests_total', help: 'Registry HTTP requests, by endpoint, method and outcome (status or network/deadline).', labelNames: ['endpoint', 'method', 'outcome'], registers });
  const latency = new Histogram({ name: 'pinwarden_registry_request_duration_seconds', help: 'Registry request latency.', labelNames: ['endpoint', 'outcome'], buckets: LATENCY_BUCKETS, registers });
  const retries = new Counter({ name: 'pinwarden_registry_retries_total', help: 'Registry requests retried (429, 5xx, network).', labelNames: ['endpoint'], registers });
  const cacheHits = new Counter({ name: 'pinwarden_resolver_cache_hits_total', help: 'Tag lookups answered from the TTL cache.', registers });
  const cacheMisses = new Counter({ name: 'pinwarden_resolver_cache_misses_total', help: 'Tag lookups not in the TTL cache.', registers });
  const coalesced = new Counter({ name: 'pinwarden_resolver_coalesced_total', help: 'Lookups that waited on an identical in-flight lookup instead of asking the registry.', registers });
  return {
    request(endpoint, method, outcome, seconds) {
      requests.inc({ endpoint, method, outcome });
      latency.observe({ endpoint, outcome }, seconds);
    },
    retry: (endpoint) => retries.inc({ endpoint }),
    cache: (outcome) => (outcome === 'hit' ? cacheHits : cacheMisses).inc(),
    coalesced: () => coalesced.inc(),
  };
}

export type ReloadTarget = 'policy' | 'tls';

/** Policy and certificate reloads, by outcome. */
export function createReloadMetrics(registry: Registry): (what: ReloadTarget, outcome: 'ok' | 'error') => void {
  const reloads = new Counter({ name: 'pinwarden_reloads_total', help: 'Policy and TLS certificate reloads, by outcome.', labelNames: ['what', 'outcome'], registers: [registry] });
  return (what, outcome) => reloads.inc({ what, outcome });
}
