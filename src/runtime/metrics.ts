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

/** Registry-side series, fed by the flows room's event sink (`registryMetricsSink`). */
export interface RegistryMetrics {
  request(endpoint: string, method: string, outcome: string, seconds: number): void;
  retry(endpoint: string): void;
  cache(outcome: 'hit' | 'miss'): void;
  coalesced(): void;
}

export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  const { Counter, Histogram } = promClient();
  const registers = [registry];
  const requests = new Counter({
    name: 'pinwarden_registry_requests_total',
    help: 'Registry HTTP requests, by endpoint, method and outcome (status or network/deadline).',
    labelNames: ['endpoint', 'method', 'outcome'],
    registers,
  });
  const latency = new Histogram({
    name: 'pinwarden_registry_request_duration_seconds',
    help: 'Registry request latency.',
    labelNames: ['endpoint', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'pinwarden_registry_retries_total',
    help: 'Registry requests retried (429, 5xx, network).',
    labelNames: ['endpoint'],
    registers,
  });
  const cacheHits = new Counter({
    name: 'pinwarden_resolver_cache_hits_total',
    help: 'Tag lookups answered from the TTL cache.',
    registers,
  });
  const cacheMisses = new Counter({
    name: 'pinwarden_resolver_cache_misses_total',
    help: 'Tag lookups not in the TTL cache.',
    registers,
  });
  const coalesced = new Counter({
    name: 'pinwarden_resolver_coalesced_total',
    help: 'Lookups that waited on an identical in-flight lookup instead of asking the registry.',
    registers,
  });
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
  const { Counter } = promClient();
  const reloads = new Counter({
    name: 'pinwarden_reloads_total',
    help: 'Policy and TLS certificate reloads, by outcome.',
    labelNames: ['what', 'outcome'],
    registers: [registry],
  });
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
  const { Counter, Gauge, Histogram } = promClient();
  const registers = [registry];
  const passes = new Counter({
    name: 'pinwarden_audit_passes_total',
    help: 'Audit passes over the sources in the cluster, by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'pinwarden_audit_pass_duration_seconds',
    help: 'Duration of one audit pass.',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });
  const results = new Gauge({
    name: 'pinwarden_audit_results',
    help: 'Results of the last audit pass, by result (pass, fail, warn, error, skip).',
    labelNames: ['result'],
    registers,
  });
  const written = new Counter({
    name: 'pinwarden_audit_reports_written_total',
    help: 'PolicyReports written or removed by the audit (unchanged ones are not rewritten).',
    registers,
  });
  const leader = new Gauge({
    name: 'pinwarden_audit_leader',
    help: 'Whether this replica runs the audit: 1 while it holds the audit Lease (or audits without election).',
    registers,
  });
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
