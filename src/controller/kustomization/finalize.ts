/**
 * Deleting a Kustomization, as kustomize-controller's `finalize` does it: once the object has a
 * deletionTimestamp and still carries pinwarden's finalizer, the objects of its inventory are deleted when
 * `deletionPolicy` says so (`MirrorPrune`, the default, follows `prune`; `Delete` and `WaitForTermination`
 * always; `Orphan` never), and only when the Kustomization is not suspended and its inventory is not empty.
 * The deletion is the prune engine's (`../apply/prune.ts`, one implementation): reverse apply order,
 * background propagation, never an object marked `kustomize.toolkit.fluxcd.io/prune: disabled` (or
 * `reconcile: disabled`, `ssa: Ignore`), never one whose ownership labels name another Kustomization; it runs
 * as `serviceAccountName` (impersonated) exactly as the apply did. Then the finalizer is removed.
 *
 * - `WaitForTermination` polls (2 s) until the deleted objects are gone, within `spec.timeout`; on timeout a
 *   Warning Event and the finalizer is removed anyway (Flux).
 * - The ServiceAccount to impersonate is gone (404): a Warning Event lists the objects left behind and the
 *   finalizer is removed (Flux). Any other error reading it is retried: nothing is left behind on a blip.
 * - A deletion that fails: a Warning Event, the finalizer stays, the reconcile fails and is retried with
 *   backoff (objects already deleted read as gone the next time).
 * - An object without pinwarden's finalizer (Flux's only, or none) is not pinwarden's to finalize: nothing is
 *   deleted.
 *
 * The inventory is read from the live object (a fresh GET), not the informer's cache: a reconcile that finished
 * just before the deletion may have written a larger inventory than the cache has seen yet.
 */
import { formatGoDuration } from '../../core/duration.ts';
import type { PinwardenError } from '../../core/errors.ts';
import type { KubeObject, ObjectClient } from '../../kube/index.ts';
import { RESOURCES } from '../../kube/index.ts';
import { decodeId, describeObject, encodeId, prune, waitForTermination } from '../apply/index.ts';
import type { InventoryEntry, PruneEntry, WaitTarget } from '../apply/index.ts';
import { CONDITION, conditionsOf, hasFinalizer, isDeleting } from '../runtime/index.ts';
import type { EventRecorder, FinalizerWriter, RecordedEvent } from '../runtime/index.ts';
import { lines } from './lines.ts';
import { remoteClientFor } from './remote.ts';
import type { RemoteClusters } from './remote.ts';
import { readSpec } from './spec.ts';
import type { KustomizationObject, KustomizationSpecView, KustomizationStatus } from './spec.ts';

/** Flux's `finalizerShouldDeleteResources`. Pure. */
export function shouldDeleteResources(
  spec: Pick<KustomizationSpecView, 'suspend' | 'prune' | 'deletionPolicy'>,
  inventorySize: number,
): boolean {
  if (spec.suspend || inventorySize === 0) return false;
  switch (spec.deletionPolicy) {
    case 'MirrorPrune':
      return spec.prune;
    case 'Delete':
    case 'WaitForTermination':
      return true;
    case 'Orphan':
      return false;
    default:
      // `Orphan`, or a value the CRD should have refused: keep everything.
      return false;
  }
}

/** Flux's change set as an Event message: `<Kind/ns/name> deleted|skipped`, one per line (NotFound is deleted). */
export function changeSetMessage(entries: readonly PruneEntry[]): string {
  return lines(
    entries
      .filter((entry) => entry.action !== 'failed')
      .map((entry) => `${entry.subject} ${entry.action === 'skipped' ? 'skipped' : 'deleted'}`),
  );
}

export interface FinalizeDeps {
  /** The controller's own client: reads the Kustomization and the ServiceAccount. */
  client: ObjectClient;
  /** The client the deletions go through: impersonating `serviceAccountName` when given. */
  clientFor(serviceAccount: { namespace: string; name: string } | undefined): ObjectClient;
  finalizers: FinalizerWriter;
  events: EventRecorder;
  /** `--default-service-account`. */
  defaultServiceAccount?: string;
  /** `spec.kubeConfig`: the inventory lives on the remote cluster (absent: none allowed). */
  remote?: RemoteClusters;
  /** WaitForTermination polling (Flux: 2 s). */
  terminationIntervalMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export type FinalizeResult =
  /** Done: the finalizer is removed (or the object is already gone). */
  | 'finalized'
  /** Not pinwarden's to finalize: no finalizer of ours, or another object of the same name. */
  | 'not-ours'
  /** The deletion failed: the finalizer stays, retry with backoff. */
  | 'failed';

export interface FinalizeOutcome {
  result: FinalizeResult;
  /** What garbage collection did (empty when nothing was to be deleted). */
  entries: PruneEntry[];
  /** Objects still present after WaitForTermination timed out. */
  remaining: string[];
  events: RecordedEvent[];
  error?: PinwardenError;
}

export async function finalizeKustomization(
  cached: KubeObject,
  deps: FinalizeDeps,
  signal: AbortSignal,
): Promise<FinalizeOutcome> {
  const outcome: FinalizeOutcome = { result: 'finalized', entries: [], remaining: [], events: [] };
  const fresh = await deps.client.get({
    apiVersion: `${RESOURCES.kustomization.group}/${RESOURCES.kustomization.version}`,
    kind: RESOURCES.kustomization.kind,
    namespace: cached.metadata.namespace,
    name: cached.metadata.name,
  });
  if (fresh === undefined) return outcome;
  const object = fresh as unknown as KubeObject;
  if (
    (cached.metadata.uid !== undefined && object.metadata.uid !== cached.metadata.uid) ||
    !isDeleting(object) ||
    !hasFinalizer(object, deps.finalizers.name)
  )
    return { ...outcome, result: 'not-ours' };

  const spec = readSpec(object as unknown as KustomizationObject);
  const status = (object.status ?? {}) as KustomizationStatus;
  const inventory = (Array.isArray(status.inventory?.entries) ? status.inventory.entries : []).filter(
    (entry): entry is InventoryEntry => typeof entry?.id === 'string' && typeof entry.v === 'string',
  );
  const emit = async (type: 'Normal' | 'Warning', message: string): Promise<void> => {
    const event = eventFor(object, status, type, message);
    outcome.events.push(event);
    await deps.events.record(object, event, signal);
  };

  if (shouldDeleteResources(spec, inventory.length)) {
    const account = spec.serviceAccountName ?? deps.defaultServiceAccount;
    const serviceAccount = account === undefined ? undefined : { namespace: spec.namespace, name: account };
    // With a kubeConfig the account lives on the remote cluster: the remote apiserver judges it.
    const accountGone =
      spec.kubeConfig === undefined &&
      serviceAccount !== undefined &&
      (await deps.client.get({ apiVersion: 'v1', kind: 'ServiceAccount', ...serviceAccount })) === undefined;
    let client: ObjectClient | undefined;
    if (spec.kubeConfig !== undefined) {
      const remote = await remoteClientFor(deps.remote, spec, serviceAccount, signal);
      if ('error' in remote) {
        if (!remote.stalled) {
          // Missing Secret, API error: retried with the finalizer kept, as Flux does.
          await emit('Warning', `pruning for deleted resource failed: ${remote.error.message}`);
          return { ...outcome, result: 'failed', error: remote.error };
        }
        // Refused for good (not allowed, exec, …): nothing on the remote cluster can be reached; let the object go.
        const left = inventory.map((entry) => {
          const id = decodeId(entry.id);
          return id === undefined ? entry.id : describeObject(id);
        });
        await emit('Warning', `unable to prune objects: ${remote.error.message}\n${lines(left)}`);
        await deps.finalizers.remove(object, signal);
        return { ...outcome, error: remote.error };
      }
      client = remote.client;
    }
    if (accountGone) {
      // Flux: the account to impersonate is gone; list what is left behind and let the object go.
      const left = inventory.map((entry) => {
        const id = decodeId(entry.id);
        return id === undefined ? entry.id : describeObject(id);
      });
      await emit('Warning', `unable to prune objects: \n${lines(left)}`);
    } else {
      client ??= deps.clientFor(serviceAccount);
      const result = await prune(client, { name: spec.name, namespace: spec.namespace }, inventory, []);
      outcome.entries = result.entries;
      if (result.error !== undefined) {
        await emit('Warning', 'pruning for deleted resource failed');
        return { ...outcome, result: 'failed', error: result.error };
      }
      if (result.entries.length > 0) await emit('Normal', changeSetMessage(result.entries));
      if (spec.deletionPolicy === 'WaitForTermination') {
        const versions = new Map(
          inventory.map((entry) => {
            const id = decodeId(entry.id);
            return [id === undefined ? entry.id : encodeId(id), entry.v] as const;
          }),
        );
        const targets: WaitTarget[] = result.entries
          .filter((entry) => entry.action === 'deleted')
          .map((entry) => ({ id: entry.id, version: versions.get(encodeId(entry.id)) ?? 'v1' }));
        const now = deps.now;
        const waited = await waitForTermination(client, targets, {
          timeoutMs: spec.timeoutMs,
          intervalMs: deps.terminationIntervalMs ?? 2_000,
          signal,
          ...(now === undefined ? {} : { now: () => now().getTime() }),
          ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
        });
        if (!waited.ok) {
          outcome.remaining = waited.remaining.map((target) => describeObject(target.id));
          // Flux: an Event, and the finalizer is removed anyway.
          await emit(
            'Warning',
            `failed to wait for resources termination after ${formatGoDuration(waited.elapsedMs)}: ${waited.message}`,
          );
        }
      }
    }
  }
  await deps.finalizers.remove(object, signal);
  return outcome;
}

/**
 * kustomize-controller's `event`: the reason is the Ready condition's (else the severity), with the last applied
 * revision and origin revision as annotations.
 */
function eventFor(
  object: KubeObject,
  status: KustomizationStatus,
  type: 'Normal' | 'Warning',
  message: string,
): RecordedEvent {
  const ready = conditionsOf(object, () => new Date()).get(CONDITION.ready);
  const annotations: Record<string, string> = {};
  if (typeof status.lastAppliedRevision === 'string' && status.lastAppliedRevision !== '')
    annotations[`${RESOURCES.kustomization.group}/revision`] = status.lastAppliedRevision;
  if (typeof status.lastAppliedOriginRevision === 'string' && status.lastAppliedOriginRevision !== '')
    annotations[`${RESOURCES.kustomization.group}/originRevision`] = status.lastAppliedOriginRevision;
  return {
    type,
    reason: ready?.reason ?? (type === 'Warning' ? 'error' : 'info'),
    message,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}
