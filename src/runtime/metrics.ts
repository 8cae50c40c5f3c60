/**
 * The process's Prometheus registry and the metrics every long-running process shares: registry (OCI) traffic,
 * the tag cache, coalescing, and file reloads. Each process (and each server in a test process) owns its own
 * `Registry`; a room with metrics of its own (the webhook's reviews) registers them on the same one.
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';

/** prom-client, loaded on first use: `pinwarden check` imports this room's index and never serves metrics. */
function promClient(): typeof PromClient {
  return createRequire(import.meta.url)('prom-client') as typeof PromClient;
}

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A fresh registry; with `defaultMetrics` (default on) the Node.js process metrics, prefixed `pinwarden_`. */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const { Registry, collectDefaultMetrics } = promClient();
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pinwarden_' });
  return registry;
}

/** Label names, as prom-client takes them. */
type Labels = readonly string[];

/** Declares series on one registry. */
export interface MetricsOn {
  counter(name: string, help: string, labelNames?: Labels): PromClient.Counter;
  gauge(name: string, help: string, labelNames?: Labels): PromClient.Gauge;
  histogram(name: string, help: string, buckets: readonly number[], labelNames?: Labels): PromClient.Histogram;
}

/**
 * The one way every room (runtime, webhook, controller, audit) declares its metrics: each series registered on
 * `registry` only, prom-client loaded on first use.
 */
export function metricsOn(registry: Registry): MetricsOn {
  const { Counter, Gauge, Histogram } = promClient();
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames, registers }),
    histogram: (name, help, buckets, labelNames = []) =>
      new Histogram({ name, help, labelNames, buckets: [...buckets], registers }),
  };
}

/** Registry-side series, fed by the flows room's event sink (`registryMetricsSink`). */
export interface RegistryMetrics {
  request(endpoint: string, method: string, outcome: string, seconds: number): void;
  retry(endpoint: string): void;
  cache(outcome: 'hit' | 'miss'): void;
  coalesced(): void;
}

/** One set per registry: the webhook and the controller in one process (`serve --controller`) feed the same series. */
const registrySeries = new WeakMap<Registry, RegistryMetrics>();

export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  const existing = registrySeries.get(registry);
  if (existing) return existing;
  const on = metricsOn(registry);
  const requests = on.counter(
    'pinwarden_registry_requests_total',
    'Registry HTTP requests, by endpoint, method and outcome (status or network/deadline).',
    ['endpoint', 'method', 'outcome'],
  );
  const latency = on.histogram(
    'pinwarden_registry_request_duration_seconds',
    'Registry request latency.',
    LATENCY_BUCKETS,
    ['endpoint', 'outcome'],
  );
  const retries = on.counter('pinwarden_registry_retries_total', 'Registry requests retried (429, 5xx, network).', [
    'endpoint',
  ]);
  const hits = on.counter('pinwarden_resolver_cache_hits_total', 'Tag lookups answered from the TTL cache.');
  const misses = on.counter('pinwarden_resolver_cache_misses_total', 'Tag lookups not in the TTL cache.');
  const coalesced = on.counter(
    'pinwarden_resolver_coalesced_total',
    'Lookups that waited on an identical in-flight lookup instead of asking the registry.',
  );
  const metrics: RegistryMetrics = {
    request(endpoint, method, outcome, seconds) {
      requests.inc({ endpoint, method, outcome });
      latency.observe({ endpoint, outcome }, seconds);
    },
    retry: (endpoint) => retries.inc({ endpoint }),
    cache: (outcome) => (outcome === 'hit' ? hits : misses).inc(),
    coalesced: () => coalesced.inc(),
  };
  registrySeries.set(registry, metrics);
  return metrics;
}

export type ReloadTarget = 'policy' | 'tls';

/** Policy and certificate reloads, by outcome. */
export function createReloadMetrics(registry: Registry): (what: ReloadTarget, outcome: 'ok' | 'error') => void {
  const on = metricsOn(registry);
  const reloads = on.counter('pinwarden_reloads_total', 'Policy and TLS certificate reloads, by outcome.', [
    'what',
    'outcome',
  ]);
  return (what, outcome) => reloads.inc({ what, outcome });
}

/** The audit's series (src/audit): passes, their duration, the last pass's results, reports written. */
export interface AuditMetricsSink {
  pass(outcome: 'ok' | 'error', seconds: number): void;
  results(counts: Readonly<Record<string, number>>): void;
  reportsWritten(count: number): void;
  /** 1 while this replica holds the audit Lease (or audits without election), else 0. */
  setLeader(leading: boolean): void;
}

export function createAuditMetrics(registry: Registry): AuditMetricsSink {
  const on = metricsOn(registry);
  const passes = on.counter(
    'pinwarden_audit_passes_total',
    'Audit passes over the sources in the cluster, by outcome.',
    ['outcome'],
  );
  const duration = on.histogram(
    'pinwarden_audit_pass_duration_seconds',
    'Duration of one audit pass.',
    [0.1, 0.5, 1, 5, 15, 60, 300],
  );
  const results = on.gauge(
    'pinwarden_audit_results',
    'Results of the last audit pass, by result (pass, fail, warn, error, skip).',
    ['result'],
  );
  const written = on.counter(
    'pinwarden_audit_reports_written_total',
    'PolicyReports written or removed by the audit (unchanged ones are not rewritten).',
  );
  const leader = on.gauge(
    'pinwarden_audit_leader',
    'Whether this replica runs the audit: 1 while it holds the audit Lease (or audits without election).',
  );
  return {
    setLeader: (leading) => leader.set(leading ? 1 : 0),
    pass(outcome, seconds) {
      passes.inc({ outcome });
      duration.observe(seconds);
    },
    results(counts) {
      for (const [result, count] of Object.entries(counts)) results.set({ result }, count);
    },
    reportsWritten: (count) => written.inc(count),
  };
}
