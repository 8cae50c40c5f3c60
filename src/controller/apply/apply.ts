/**
 * Server-side apply of a set of objects in Flux's stages (fluxcd/pkg `ssa` `ApplyAllStaged`):
 *
 * - every object carries the ownership labels `kustomize.toolkit.fluxcd.io/name` and `/namespace`;
 * - each object of a stage is first dry-run applied (field manager `pinwarden`, force conflicts); only
 *   an object whose dry-run differs from the live one (labels, annotations, or anything outside
 *   `metadata`/`status`) — or that needs its metadata cleaned up — is really applied, in order, so an
 *   unchanged object keeps its resourceVersion;
 * - `ssa: Ignore` and `reconcile: disabled` are skipped, `ssa: IfNotPresent` is skipped once the object
 *   exists, `ssa: Merge` keeps other managers' fields and metadata (no cleanup);
 * - under the default `Override`, the managedFields of `kubectl`, `before-first-apply` and
 *   `kustomize-controller` are taken over by `pinwarden` and kubectl's last-applied annotation removed,
 *   as Flux's `ApplyCleanupOptions` do for its own manager;
 * - a dry-run refused as Invalid/Conflict (an immutable field) is recreated (delete, wait gone, apply)
 *   when `spec.force` or the object's `kustomize.toolkit.fluxcd.io/force: enabled` says so;
 * - a stage of CRDs, Namespaces and ClusterRoles (and one of `*Class` kinds) is waited for (kstatus:
 *   CRDs `Established`) before the next stage is applied.
 *
 * One refused object stops the apply with `PW_APPLY_FAILED` naming it and the apiserver's reason; the
 * caller then keeps the previous inventory and prunes nothing.
 */
import { PinwardenError } from '../../core/errors.ts';
import { KubeApiError } from '../../kube/index.ts';
import type { JsonPatchOp, KubeObjectBody, ObjectClient } from '../../kube/index.ts';
import { excludedFromApply, forceEnabled, ssaPolicy, withOwnerLabels } from './markers.ts';
import type { Owner } from './markers.ts';
import { describe, encodeId, isRecord, objectId, splitApiVersion } from './objects.ts';
import type { InventoryEntry, KubeObject, ManagedFieldsEntry, ObjectId } from './objects.ts';
import { stages } from './order.ts';
import { waitFailed, waitForCurrent } from './wait.ts';

export const FIELD_MANAGER = 'pinwarden';

export type Action = 'created' | 'configured' | 'unchanged' | 'skipped';

export interface ChangeEntry {
  id: ObjectId;
  version: string;
  subject: string;
  action: Action;
}

export interface ApplyResult {
  entries: ChangeEntry[];
  /** The new inventory: every object of the set, applied, unchanged or skipped, in apply order. */
  inventory: InventoryEntry[];
}

export interface ApplySetOptions {
  client: ObjectClient;
  owner: Owner;
  /** Objects dry-run at once (Flux's `--concurrent-ssa`, default 4). */
  concurrency?: number;
  /** `spec.force`: recreate any object whose immutable fields changed. */
  force?: boolean;
  fieldManager?: string;
  /** Waiting for a definitions stage (Flux: 60 s, polled every 2 s). */
  stageTimeoutMs?: number;
  stageIntervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

/** Managers (name prefixes, as Flux matches them) whose fields pinwarden takes over under `ssa: Override`: Flux's cleanup list, with Flux itself as the previous owner. */
export const TAKEOVER_MANAGERS: ReadonlyArray<{ manager: string; operation: string }> = [
  { manager: 'kubectl', operation: 'Apply' },
  { manager: 'kubectl', operation: 'Update' },
  { manager: 'before-first-apply', operation: 'Update' },
  { manager: 'kustomize-controller', operation: 'Apply' },
  { manager: 'kustomize-controller', operation: 'Update' },
];
const CLEANUP_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'kustomize.toolkit.fluxcd.io/checksum',
  'fluxcd.io/sync-checksum',
];
const CLEANUP_LABELS = ['fluxcd.io/sync-gc-mark'];

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Flux's wording (fluxcd/pkg `ssa` `DryRunErr`, `apply failed`): the object, then the apiserver's reason and message. */
function failure(
  object: KubeObject,
  step: 'dry-run' | 'apply' | 'get' | 'recreate' | 'cleanup',
  error: unknown,
): PinwardenError {
  const subject = describe(object);
  if (error instanceof KubeApiError) {
    const reason = error.apiReason === '' ? String(error.httpStatus) : error.apiReason;
    const apiText = error.apiMessage === '' ? `Kubernetes API answered ${error.httpStatus}` : error.apiMessage;
    let message: string;
    if (error.httpStatus === 404 && step === 'dry-run') {
      message =
        object.metadata.namespace === undefined || object.metadata.namespace === ''
          ? `${subject} namespace not specified: ${apiText}`
          : `${subject} not found: ${apiText}`;
    } else if (step === 'dry-run') message = `${subject} dry-run failed (${reason}): ${apiText}`;
    else message = `${subject} ${step} failed (${reason}): ${apiText}`;
    return new PinwardenError('PW_APPLY_FAILED', message, {
      cause: error,
      details: { object: subject, httpStatus: error.httpStatus, apiReason: reason },
    });
  }
  const text = error instanceof Error ? error.message : String(error);
  return new PinwardenError('PW_APPLY_FAILED', `${subject} ${step} failed: ${text}`, {
    cause: error,
    details: { object: subject },
  });
}

function isImmutableError(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return false;
  return (
    error.httpStatus === 409 ||
    error.httpStatus === 422 ||
    error.apiReason === 'Invalid' ||
    error.apiReason === 'Conflict' ||
    /is\simmutable|immutable\sfield/.test(error.apiMessage)
  );
}

function withoutMetaAndStatus(object: KubeObjectBody): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest;
}

/** Flux's `hasDrifted`: new object, or labels/annotations differ, or anything outside metadata/status. */
export function hasDrifted(live: KubeObjectBody | undefined, dryRun: KubeObjectBody): boolean {
  if (live === undefined || dryRun.metadata.resourceVersion === undefined) return true;
  if (!deepEqual(live.metadata.labels ?? {}, dryRun.metadata.labels ?? {})) return true;
  if (!deepEqual(live.metadata.annotations ?? {}, dryRun.metadata.annotations ?? {})) return true;
  return !deepEqual(withoutMetaAndStatus(live), withoutMetaAndStatus(dryRun));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function mergeFields(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(a ?? {}) };
  for (const [key, value] of Object.entries(b ?? {})) {
    const mine = out[key];
    out[key] = isRecord(mine) && isRecord(value) ? mergeFields(mine, value) : value;
  }
  return out;
}

/**
 * The JSON patch that cleans a live object's metadata before pinwarden applies it (Override only):
 * managedFields of the takeover managers merged into pinwarden's Apply entry, kubectl's
 * last-applied annotation and Flux v1's checksum markers removed. `undefined` when nothing to clean.
 */
export function cleanupPatch(live: KubeObjectBody, fieldManager: string): JsonPatchOp[] | undefined {
  const ops: JsonPatchOp[] = [];
  const entries = (
    Array.isArray(live.metadata.managedFields) ? live.metadata.managedFields : []
  ) as ManagedFieldsEntry[];
  const taken = (entry: ManagedFieldsEntry): boolean =>
    TAKEOVER_MANAGERS.some(
      (item) =>
        (entry.manager ?? '').startsWith(item.manager) &&
        item.operation === entry.operation &&
        (entry.subresource ?? '') === '',
    );
  if (entries.some(taken)) {
    const kept: ManagedFieldsEntry[] = [];
    let mine: ManagedFieldsEntry | undefined = entries.find(
      (entry) => entry.manager === fieldManager && entry.operation === 'Apply' && (entry.subresource ?? '') === '',
    );
    const moved = entries.filter(taken);
    for (const entry of entries) if (!taken(entry) && entry !== mine) kept.push(entry);
    let fields = mine?.fieldsV1;
    for (const entry of moved) fields = mergeFields(fields, entry.fieldsV1);
    mine = {
      ...(mine ?? moved[0]!),
      manager: fieldManager,
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: fields ?? {},
    };
    ops.push({ op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion });
    ops.push({ op: 'replace', path: '/metadata/managedFields', value: [...kept, mine] });
  }
  const annotations = (live.metadata.annotations ?? {}) as Record<string, string>;
  for (const key of CLEANUP_ANNOTATIONS)
    if (key in annotations) ops.push({ op: 'remove', path: `/metadata/annotations/${escapePointer(key)}` });
  const labels = (live.metadata.labels ?? {}) as Record<string, string>;
  for (const key of CLEANUP_LABELS)
    if (key in labels) ops.push({ op: 'remove', path: `/metadata/labels/${escapePointer(key)}` });
  return ops.length === 0 ? undefined : ops;
}

async function stripScope(client: ObjectClient, object: KubeObject): Promise<KubeObject> {
  const scope = await client.scope(object.apiVersion, object.kind).catch(() => undefined);
  if (scope === 'Cluster' && object.metadata.namespace !== undefined) {
    const { namespace: _ns, ...metadata } = object.metadata;
    return { ...object, metadata };
  }
  return object;
}

interface Planned {
  object: KubeObject;
  live: KubeObjectBody | undefined;
  action: Action;
}

/** `fn` over `items` with at most `limit` in flight; every item settles, results in input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<Array<{ value: R } | { error: unknown }>> {
  const results: Array<{ value: R } | { error: unknown }> = new Array<{ value: R } | { error: unknown }>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      // After a refusal, the objects not started yet are not dry-run at all (Flux's errgroup cancels them).
      if (failed) {
        results[index] = { error: new PinwardenError('PW_APPLY_FAILED', 'not attempted') };
        continue;
      }
      try {
        results[index] = { value: await fn(items[index]!) };
      } catch (error) {
        failed = true;
        results[index] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return results;
}

export async function applySet(objects: readonly KubeObject[], options: ApplySetOptions): Promise<ApplyResult> {
  const client = options.client;
  const fieldManager = options.fieldManager ?? FIELD_MANAGER;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const entries: ChangeEntry[] = [];
  const labelled = objects.map((object) => withOwnerLabels(object, options.owner));
  for (const stage of stages(labelled)) {
    // Get, dry-run and clean up up to `concurrency` objects at a time (Flux: --concurrent-ssa 4); results keep
    // the apply order, and the first failure in that order is the one reported.
    const plan = async (raw: KubeObject): Promise<Planned> => {
      const object = await stripScope(client, raw);
      if (options.signal?.aborted === true) throw new PinwardenError('PW_APPLY_FAILED', 'apply cancelled');
      const ref = {
        apiVersion: object.apiVersion,
        kind: object.kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name ?? '',
      };
      let live: KubeObjectBody | undefined;
      try {
        live = await client.get(ref);
      } catch (error) {
        throw failure(object, 'get', error);
      }
      const liveObject = live;
      // Flux's shouldSkipApply: an exclusion on the desired or the live object; IfNotPresent once it exists.
      if (
        excludedFromApply(object) ||
        (liveObject !== undefined && excludedFromApply(liveObject)) ||
        (ssaPolicy(object) === 'IfNotPresent' && live?.metadata.uid !== undefined)
      ) {
        return { object, live, action: 'skipped' };
      }
      let dryRun: KubeObjectBody;
      try {
        dryRun = await client.apply(object, { fieldManager, force: true, dryRun: true });
      } catch (error) {
        const forced =
          options.force === true || forceEnabled(object) || (liveObject !== undefined && forceEnabled(liveObject));
        if (live === undefined || !isImmutableError(error) || !forced) throw failure(object, 'dry-run', error);
        await recreate(client, object, live, {
          sleep,
          now,
          timeoutMs: options.stageTimeoutMs ?? 60_000,
          intervalMs: options.stageIntervalMs ?? 2_000,
        });
        live = undefined;
        try {
          dryRun = await client.apply(object, { fieldManager, force: true, dryRun: true });
        } catch (again) {
          throw failure(object, 'dry-run', again);
        }
      }
      const merge = ssaPolicy(object) === 'Merge' || (liveObject !== undefined && ssaPolicy(liveObject) === 'Merge');
      const cleanup = live !== undefined && !merge ? cleanupPatch(live, fieldManager) : undefined;
      if (cleanup !== undefined) {
        try {
          await client.jsonPatch(ref, cleanup);
        } catch (error) {
          throw failure(object, 'cleanup', error);
        }
      }
      const action: Action =
        live === undefined || dryRun.metadata.resourceVersion === undefined
          ? 'created'
          : hasDrifted(live, dryRun) || cleanup !== undefined
            ? 'configured'
            : 'unchanged';
      return { object, live, action };
    };
    const outcomes = await mapLimited(stage.objects, options.concurrency ?? 4, plan);
    const refused = outcomes.find((outcome): outcome is { error: unknown } => 'error' in outcome);
    if (refused !== undefined) throw refused.error;
    const planned = outcomes.map((outcome) => (outcome as { value: Planned }).value);
    for (const item of planned) {
      if (item.action === 'skipped' || item.action === 'unchanged') continue;
      try {
        await client.apply(item.object, { fieldManager, force: true });
      } catch (error) {
        throw failure(item.object, 'apply', error);
      }
    }
    for (const item of planned) {
      entries.push({
        id: objectId(item.object),
        version: splitApiVersion(item.object.apiVersion).version,
        subject: describe(item.object),
        action: item.action,
      });
    }
    if (stage.wait) {
      const targets = planned
        .filter((item) => item.action !== 'skipped')
        .map((item) => ({ id: objectId(item.object), version: splitApiVersion(item.object.apiVersion).version }));
      if (targets.length > 0) {
        const result = await waitForCurrent(client, targets, {
          timeoutMs: options.stageTimeoutMs ?? 60_000,
          intervalMs: options.stageIntervalMs ?? 2_000,
          now,
          sleep,
          signal: options.signal,
        });
        if (!result.ok) throw waitFailed('PW_APPLY_FAILED', `${stage.name} stage: `, result);
      }
    }
  }
  const inventory = entries.map((entry) => ({ id: encodeId(entry.id), v: entry.version }));
  return { entries, inventory };
}

/** Flux's force path: delete (background), poll until the old object is gone, then the caller dry-runs again. */
async function recreate(
  client: ObjectClient,
  object: KubeObject,
  live: KubeObjectBody,
  options: { sleep: (ms: number) => Promise<void>; now: () => number; timeoutMs: number; intervalMs: number },
): Promise<void> {
  const ref = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name ?? '',
  };
  const subject = describe(object);
  try {
    await client.delete(ref);
  } catch (error) {
    throw new PinwardenError(
      'PW_APPLY_FAILED',
      `${subject} immutable field detected, failed to delete object: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const deadline = options.now() + options.timeoutMs;
  for (;;) {
    const still = await client.get(ref);
    if (still === undefined || still.metadata.uid !== live.metadata.uid) return;
    if (options.now() > deadline)
      throw new PinwardenError(
        'PW_APPLY_FAILED',
        `${subject} immutable field detected, failed to wait for object to be deleted: still there after ${options.timeoutMs} ms`,
      );
    await options.sleep(options.intervalMs);
  }
}
