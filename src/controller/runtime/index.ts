/**
 * The controller runtime: the reconcile shape (ordered steps, one summarizer), the status writer, the Event
 * recorder, the work queue, leader election, metrics and the manager that wires informers to reconcilers.
 * Reconcilers (`controller/source/`, `controller/kustomization/`) import only from here.
 */
export { CONDITION, ConditionSet, MAX_CONDITION_MESSAGE, REASON, parseCondition, sameCondition } from './conditions.ts';
export type { Condition, ConditionStatus } from './conditions.ts';
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
export { answerOf, drive } from './drive.ts';
export type { DriveOptions, DriveOutcome, ReconcilerWriters } from './drive.ts';
export { createStatusWriter, deepEqual, statusPatch } from './status.ts';
export type { StatusUpdate, StatusWriter, StatusWriterOptions } from './status.ts';
export { createEventRecorder } from './events.ts';
export {
  FINALIZER,
  createFinalizerWriter,
  finalizerPatch,
  finalizersOf,
  hasFinalizer,
  isDeleting,
} from './finalizers.ts';
export type { FinalizerResult, FinalizerWriter, FinalizerWriterOptions } from './finalizers.ts';
export type { EventRecorder, EventRecorderOptions } from './events.ts';
export { createWorkQueue, jittered } from './queue.ts';
export type { WorkQueue, WorkQueueOptions } from './queue.ts';
// The Lease elector lives in the kube room (the audit elects its leader with it too); re-exported for reconcilers' tests.
export { createLeaderElector } from '../../kube/index.ts';
export type { LeaderElectionOptions, LeaderElector, LeaseSettings } from '../../kube/index.ts';
export { createControllerMetrics } from './metrics.ts';
export type { ControllerMetrics } from './metrics.ts';
export { createControllerManager } from './manager.ts';
export type {
  ControllerLogger,
  ControllerManager,
  KindController,
  ManagerOptions,
  ManagerSettings,
  ReconcileAnswer,
  ReconcileRequest,
  SourceRef,
} from './manager.ts';
export { startProbeServer } from './probes.ts';
