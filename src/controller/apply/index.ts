/**
 * The apply engine: plain manifests in, objects server-side applied, pruned and health-checked as
 * kustomize-controller does. No queue, no status: the Kustomization reconciler drives it.
 */
export { applySet, cleanupPatch, deepEqual, FIELD_MANAGER, hasDrifted, TAKEOVER_MANAGERS } from './apply.ts';
export type { Action, ApplyResult, ApplySetOptions, ChangeEntry } from './apply.ts';
export { computeHealth } from './kstatus.ts';
export type { Health, HealthStatus } from './kstatus.ts';
export {
  DEFAULT_MANIFEST_LIMITS,
  KUSTOMIZATION_FILES,
  parseManifestText,
  readManifests,
  secureJoin,
  setTargetNamespace,
} from './manifests.ts';
export type { ManifestLimits, ManifestObject } from './manifests.ts';
export * from './markers.ts';
export {
  decodeId,
  describe,
  describeObject,
  encodeId,
  inventoryEntry,
  joinApiVersion,
  objectId,
  sameId,
  splitApiVersion,
} from './objects.ts';
export type { InventoryEntry, KubeMetadata, KubeObject, ManagedFieldsEntry, ObjectId } from './objects.ts';
export { compareIds, sortForApply, sortForDelete, stageOf, stages } from './order.ts';
export type { Stage, StageName } from './order.ts';
export { prune, staleEntries } from './prune.ts';
export type { PruneAction, PruneEntry, PruneResult } from './prune.ts';
export { waitForCurrent, waitForTermination } from './wait.ts';
export type { TerminationResult, WaitOptions, WaitResult, WaitTarget } from './wait.ts';
