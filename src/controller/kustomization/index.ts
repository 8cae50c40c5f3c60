/** The Kustomization reconciler: Flux's steps over the apply engine, on the runtime's reconcile shape. */
export {
  createKustomizationController,
  KUSTOMIZATION_API_VERSION,
  KUSTOMIZATION_RULES,
  kustomizationSteps,
  RECONCILE_REQUEST_ANNOTATION,
  REASONS,
  reconcileKustomization,
  SOURCE_API_VERSION,
} from './reconcile.ts';
export type {
  ArtifactLookup,
  KustomizationControllerOptions,
  KustomizationDeps,
  KustomizationOptions,
  ReconcileOutcome,
  ReconcileResult,
} from './reconcile.ts';
export { changeSetMessage, finalizeKustomization, shouldDeleteResources } from './finalize.ts';
export type { FinalizeDeps, FinalizeOutcome, FinalizeResult } from './finalize.ts';
export { createRemoteClusters, KUBECONFIG_KEYS, remoteClientFor } from './remote.ts';
export type { RemoteClusterRules, RemoteClusters, RemoteClustersOptions } from './remote.ts';
export { DELETION_POLICIES, readSpec } from './spec.ts';
export type {
  DeletionPolicy,
  DependencyRef,
  HealthCheckRef,
  KubeConfigRef,
  KustomizationObject,
  KustomizationSpecView,
  KustomizationStatus,
  SourceRef,
} from './spec.ts';
