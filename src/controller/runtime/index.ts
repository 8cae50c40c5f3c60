/**
 * The controller runtime: the reconcile shape (ordered steps, one summarizer), the status writer, the Event
 * recorder, the work queue, leader election, metrics and the manager that wires informers to reconcilers.
 * Reconcilers (`controller/source/`, `controller/kustomization/`) import only from here.
 */
export * from './conditions.ts';
export { CONTINUE, conditionsOf, markProgressing, runSteps, summarize } from './reconcile.ts';
export type {
  ReconcileScope,
  ReconcileStep,
  RecordedEvent,
  StepResult,
  SummarizeInput,
  Summary,
  SummaryRules,
} from './reconcile.ts';
export * from './drive.ts';
export * from './status.ts';
export * from './events.ts';
export * from './finalizers.ts';
export * from './queue.ts';
// The Lease elector lives in the kube room (the audit elects its leader with it too); re-exported for reconcilers' tests.
export { createLeaderElector } from '../../kube/index.ts';
export type { LeaderElectionOptions, LeaderElector, LeaseSettings } from '../../kube/index.ts';
export * from './metrics.ts';
export * from './manager.ts';
export { startProbeServer } from './probes.ts';
