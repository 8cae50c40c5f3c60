/**
 * prom-client metrics on a registry of their own (several servers may live in one test process), plus the
 * sink that turns the OCI room's events into registry, cache and coalescing metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventSink, RegistryEvent } from '../oci/index.ts';

export type Route = 'mutate' | 'validate';

export interface WebhookMetrics {
  registry: Registry;
  observeReview(route: Route, verdict: string, seconds: number): void;
  observeReload(what: 'policy' | 'tls', outcome: 'ok' | 'error'): void;
  onRegistryEvent: EventSink;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createWebhookMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pinwarden_' });
  const registers = [registry];
  const requests = new Counter({ name: 'pinwarden_webhook_requests_total', help: 'Admission reviews answered, by route and verdict.', labelNames: ['route', 'verdict'], registers });
  const duration = new Histogram({ name: 'pinwarden_webhook_request_duration_seconds', help: 'Time to answer an admission review.', labelNames: ['route', 'verdict'], buckets: LATENCY_BUCKETS, registers });
  const registryRequests = new Counter({ name: 'pinwarden_registry_requests_total', help: 'Registry HTTP requests, by endpoint, method and outcome (status or network/deadline).', labelNames: ['endpoint', 'method', 'outcome'], registers });
  const registryLatency = new Histogram({ name: 'pinwarden_registry_request_duration_seconds', help: 'Registry request latency.', labelNames: ['endpoint', 'outcome'], buckets: LATENCY_BUCKETS, registers });
  const retries = new Counter({ name: 'pinwarden_registry_retries_total', help: 'Registry requests retried (429, 5xx, network).', labelNames: ['endpoint'], registers });
  const cacheHits = new Counter({ name: 'pinwarden_resolver_cache_hits_total', help: 'Tag lookups answered from the TTL cache.', registers });
  const cacheMisses = new Counter({ name: 'pinwarden_resolver_cache_misses_total', help: 'Tag lookups not in the TTL cache.', registers });
  const coalesced = new Counter({ name: 'pinwarden_resolver_coalesced_total', help: 'Lookups that waited on an identical in-flight lookup instead of asking the registry.', registers });
  const reloads = new Counter({ name: 'pinwarden_reloads_total', help: 'Policy and TLS certificate reloads, by outcome.', labelNames: ['what', 'outcome'], registers });

  const onRegistryEvent = (event: RegistryEvent): void => {
    switch (event.type) {
      case 'request': {
        const outcome = String(event.outcome);
        registryRequests.inc({ endpoint: event.endpoint, method: event.method, outcome });
        registryLatency.observe({ endpoint: event.endpoint, outcome }, event.durationMs / 1000);
        return;
      }
      case 'retry':
        retries.inc({ endpoint: event.endpoint });
        return;
      case 'cache':
        (event.outcome === 'hit' ? cacheHits : cacheMisses).inc();
        return;
      case 'coalesced':
        coalesced.inc();
        return;
      case 'token':
      case 'response-body':
        return;
    }
  };

  // Label-bound children, made once per (route, verdict): prom-client hashes the labels on every call otherwise.
  const bound = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  const reviewSeries = (route: Route, verdict: string): { count: () => void; time: (seconds: number) => void } => {
    const key = `${route}|${verdict}`;
    let series = bound.get(key);
    if (!series) {
      const counter = requests.labels({ route, verdict });
      const histogram = duration.labels({ route, verdict });
      series = { count: () => counter.inc(), time: (seconds) => histogram.observe(seconds) };
      bound.set(key, series);
    }
    return series;
  };

  return {
    registry,
    observeReview(route, verdict, seconds) {
      const series = reviewSeries(route, verdict);
      series.count();
      series.time(seconds);
    },
    observeReload(what, outcome) {
      reloads.inc({ what, outcome });
    },
    onRegistryEvent,
  };
}
