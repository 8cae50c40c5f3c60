/**
 * The webhook's own metrics (reviews by route and verdict) on the process registry of `runtime/`, next to the
 * shared registry-side and reload series. Each server gets a registry of its own (several live in one test
 * process).
 */
import type { Registry } from 'prom-client';
import { registryMetricsSink } from '../flows/index.ts';
import type { EventSink } from '../oci/index.ts';
import {
  LATENCY_BUCKETS,
  createMetricsRegistry,
  createRegistryMetrics,
  createReloadMetrics,
  metricsOn,
} from '../runtime/index.ts';
import type { ReloadTarget } from '../runtime/index.ts';
import type { ReviewLabel } from './routes/answer.ts';

export type Route = 'mutate' | 'validate';

export interface WebhookMetrics {
  registry: Registry;
  observeReview(route: Route, verdict: ReviewLabel, seconds: number): void;
  observeReload(what: ReloadTarget, outcome: 'ok' | 'error'): void;
  onRegistryEvent: EventSink;
}

export function createWebhookMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = createMetricsRegistry(options);
  const on = metricsOn(registry);
  const labels = ['route', 'verdict'];
  const requests = on.counter(
    'pinwarden_webhook_requests_total',
    'Admission reviews answered, by route and verdict.',
    labels,
  );
  const duration = on.histogram(
    'pinwarden_webhook_request_duration_seconds',
    'Time to answer an admission review.',
    LATENCY_BUCKETS,
    labels,
  );

  // Label-bound children, made once per (route, verdict): prom-client hashes the labels on every call otherwise.
  // Not a cache (no bound needed): the keys are the two routes times the handful of verdicts.
  type Series = { count: () => void; time: (seconds: number) => void };
  const bound: Record<Route, Map<ReviewLabel, Series>> = { mutate: new Map(), validate: new Map() };
  const reviewSeries = (route: Route, verdict: ReviewLabel): Series => {
    let series = bound[route].get(verdict);
    if (!series) {
      const counter = requests.labels({ route, verdict });
      const histogram = duration.labels({ route, verdict });
      series = { count: () => counter.inc(), time: (seconds) => histogram.observe(seconds) };
      bound[route].set(verdict, series);
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
    observeReload: createReloadMetrics(registry),
    onRegistryEvent: registryMetricsSink(createRegistryMetrics(registry)),
  };
}
