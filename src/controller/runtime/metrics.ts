/**
 * The controller's prom-client metrics: reconcile duration and result per kind, queue depth, registry calls
 * made by reconciles, Kubernetes API calls, leadership and watch sync. On a registry of their own, or on the
 * webhook's when both run in one process (`serve --controller`), so `/metrics` shows both.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventSink } from '../../oci/index.ts';

export interface ControllerMetrics {
  registry: Registry;
  observeReconcile(kind: string, result: 'success' | 'failure' | 'stalled' | 'interrupted', seconds: number): void;
  setQueueDepth(depth: number): void;
  setLeader(leading: boolean): void;
  setSynced(kind: string, synced: boolean): void;
  onApiCall(method: string, status: number): void;
  /** The OCI room's events, as registry call counts. */
  onRegistryEvent: EventSink;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createControllerMetrics(registry: Registry = new Registry()): ControllerMetrics {
  const registers = [registry];
  const duration = new Histogram({
    name: 'pinwarden_controller_reconcile_duration_seconds',
    help: 'Time of one reconcile, by kind and result.',
    labelNames: ['kind', 'result'],
    buckets: BUCKETS,
    registers,
  });
  const total = new Counter({
    name: 'pinwarden_controller_reconcile_total',
    help: 'Reconciles, by kind and result.',
    labelNames: ['kind', 'result'],
    registers,
  });
  const depth = new Gauge({
    name: 'pinwarden_controller_queue_depth',
    help: 'Keys ready in the work queue.',
    registers,
  });
  const leader = new Gauge({
    name: 'pinwarden_controller_leader',
    help: '1 while this replica holds the leader Lease.',
    registers,
  });
  const synced = new Gauge({
    name: 'pinwarden_controller_watch_synced',
    help: '1 once the watches of a kind listed everything.',
    labelNames: ['kind'],
    registers,
  });
  const api = new Counter({
    name: 'pinwarden_controller_kube_requests_total',
    help: 'Kubernetes API requests, by method and status (0: no answer).',
    labelNames: ['method', 'status'],
    registers,
  });
  const registryCalls = new Counter({
    name: 'pinwarden_controller_registry_requests_total',
    help: 'Registry requests made by reconciles, by endpoint, method and outcome.',
    labelNames: ['endpoint', 'method', 'outcome'],
    registers,
  });
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
    onRegistryEvent(event) {
      if (event.type === 'request')
        registryCalls.inc({ endpoint: event.endpoint, method: event.method, outcome: String(event.outcome) });
    },
  };
}
