/**
 * The controller's prom-client metrics: reconcile duration and result per kind, queue depth, Kubernetes API
 * calls, leadership and watch sync; registry calls go to the shared registry-side series of `runtime/`. On a
 * registry of their own, or on the webhook's when both run in one process (`serve --controller`), so `/metrics`
 * shows both (the registry-side series once, fed by both).
 */
import type { Registry } from 'prom-client';
import { registryMetricsSink } from '../../flows/index.ts';
import type { EventSink } from '../../oci/index.ts';
import { createMetricsRegistry, createRegistryMetrics, metricsOn } from '../../runtime/index.ts';

export interface ControllerMetrics {
  registry: Registry;
  observeReconcile(kind: string, result: 'success' | 'failure' | 'stalled' | 'interrupted', seconds: number): void;
  setQueueDepth(depth: number): void;
  setLeader(leading: boolean): void;
  setSynced(kind: string, synced: boolean): void;
  onApiCall(method: string, status: number): void;
  /** The OCI room's events, as the shared registry-side series of `runtime/` (one set per registry). */
  onRegistryEvent: EventSink;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createControllerMetrics(
  registry: Registry = createMetricsRegistry({ defaultMetrics: false }),
): ControllerMetrics {
  const on = metricsOn(registry);
  const kindResult = ['kind', 'result'];
  const duration = on.histogram(
    'pinwarden_controller_reconcile_duration_seconds',
    'Time of one reconcile, by kind and result.',
    BUCKETS,
    kindResult,
  );
  const total = on.counter('pinwarden_controller_reconcile_total', 'Reconciles, by kind and result.', kindResult);
  const depth = on.gauge('pinwarden_controller_queue_depth', 'Keys ready in the work queue.');
  const leader = on.gauge('pinwarden_controller_leader', '1 while this replica holds the leader Lease.');
  const synced = on.gauge('pinwarden_controller_watch_synced', '1 once the watches of a kind listed everything.', [
    'kind',
  ]);
  const api = on.counter(
    'pinwarden_controller_kube_requests_total',
    'Kubernetes API requests, by method and status (0: no answer).',
    ['method', 'status'],
  );
  return {
    registry,
    observeReconcile(kind, result, seconds) {
      duration.observe({ kind, result }, seconds);
      total.inc({ kind, result });
    },
    setQueueDepth: (value) => depth.set(value),
    setLeader: (leading) => leader.set(leading ? 1 : 0),
    setSynced: (kind, value) => synced.set({ kind }, value ? 1 : 0),
    onApiCall: (method, status) => api.inc({ method, status: String(status) }),
    onRegistryEvent: registryMetricsSink(createRegistryMetrics(registry)),
  };
}
