/**
 * The apply engine: plain manifests in, objects server-side applied, pruned and health-checked as
 * kustomize-controller does. No queue, no status: the Kustomization reconciler drives it.
 */
export * from './apply.ts';
export * from './kstatus.ts';
export * from './manifests.ts';
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
export * from './order.ts';
export * from './prune.ts';
export { waitForCurrent, waitForTermination } from './wait.ts';
export type { TerminationResult, WaitOptions, WaitResult, WaitTarget } from './wait.ts';
