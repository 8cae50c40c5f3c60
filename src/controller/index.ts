/**
 * The embedded controller's public surface: `startController` (what `pinwarden controller` and
 * `serve --controller` run), the runtime for other reconcilers, and the artifact store's lookup.
 */
export * from './start.ts';
export { createArtifactStore } from './source/store.ts';
export type { ArtifactLookup, ArtifactStore, StoredArtifact } from './source/store.ts';
export { OCI_RULES, PINNED_FROM, createOciRepositoryController, storeKey } from './source/ocirepository.ts';
export type {
  ArtifactPuller,
  OciRepositoryReconcilerOptions,
  PullRequest,
  PulledArtifact,
} from './source/ocirepository.ts';
export { startProbeServer } from './runtime/index.ts';
export * from './source/pull.ts';
export {
  createKustomizationController,
  kustomizationSteps,
  KUSTOMIZATION_RULES,
  reconcileKustomization,
} from './kustomization/index.ts';
export type { KustomizationControllerOptions, KustomizationDeps, KustomizationOptions } from './kustomization/index.ts';
