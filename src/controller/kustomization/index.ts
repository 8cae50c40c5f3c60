/** The Kustomization reconciler: Flux's steps over the apply engine, producing Flux's status. */
export { Conditions, HEALTHY, READY, REASONS, RECONCILING, STALLED } from './conditions.ts';
export type { Condition, ConditionStatus } from './conditions.ts';
export {
  applyStep, artifactStep, buildStep, dependenciesStep, healthStep, KUSTOMIZATION_API_VERSION, pruneStep, readyStep, RECONCILE_REQUEST_ANNOTATION,
  reconcileKustomization, SOURCE_API_VERSION, sourceStep, STEPS, suspendStep, validateStep,
} from './reconcile.ts';
export type { ArtifactLookup, KustomizationDeps, KustomizationOptions, ReconcileEvent, ReconcileOutcome, ReconcileResult, Run, Step, StepResult } from './reconcile.ts';
export { readSpec } from './spec.ts';
export type { DependencyRef, HealthCheckRef, KustomizationObject, KustomizationSpecView, KustomizationStatus, SourceRef } from './spec.ts';
