/**
 * The status writer: writes through the status subresource with the object's resourceVersion as a
 * precondition (a JSON merge patch), so a concurrent writer is never overwritten: on 409 it reads the object
 * again and merges once more. Conditions are merged by type: this writer replaces or deletes only the types
 * it owns and keeps every other writer's conditions as they are on the live object. Nothing is written when
 * nothing changed (an unchanged reconcile must not bump the resourceVersion and wake every watcher).
 */
import { PinwardenError } from '../../core/errors.ts';
import { kubeStatusOf, objectPath } from '../../kube/index.ts';
import type { KubeApi, KubeObject, ResourceType } from '../../kube/index.ts';
import { parseCondition, sameCondition } from './conditions.ts';
import type { Condition } from './conditions.ts';

export interface StatusUpdate {
  /** The conditions this reconcile ends with (only the owned types are taken). */
  conditions: Condition[];
  /** The condition types this writer owns: those absent from `conditions` are deleted. */
  owned: readonly string[];
  /** Set observedGeneration to this value. */
  observedGeneration?: number;
  /** Other status fields (`artifact`, `url`…); `null` removes the field. */
  fields?: Record<string, unknown>;
}

export interface StatusWriterOptions {
  api: KubeApi;
  resource: ResourceType;
  /** Attempts on 409 Conflict (default 4). */
  attempts?: number;
  timeoutMs?: number;
}

export interface StatusWriter {
  /** Writes when something changed; returns the object as stored (the given one when nothing was written). */
  write(object: KubeObject, update: StatusUpdate, signal?: AbortSignal): Promise<KubeObject>;
}

export function createStatusWriter(options: StatusWriterOptions): StatusWriter {
  const attempts = options.attempts ?? 4;
  const path = (object: KubeObject, sub?: string): string =>
    objectPath(options.resource, object.metadata.namespace, object.metadata.name, sub);
  return {
    async write(object, update, signal) {
      let current = object;
      for (let attempt = 1; ; attempt++) {
        const patch = statusPatch(current, update);
        if (patch === undefined) return current;
        try {
          return await options.api.request<KubeObject>({
            method: 'PATCH',
            path: path(current, 'status'),
            contentType: 'application/merge-patch+json',
            body: { metadata: { resourceVersion: current.metadata.resourceVersion }, status: patch },
            ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
            ...(signal ? { signal } : {}),
          });
        } catch (error) {
          if (kubeStatusOf(error) !== 409 || attempt >= attempts) throw error;
          const fresh = await options.api.request<KubeObject>({
            method: 'GET',
            path: path(current),
            ...(signal ? { signal } : {}),
          });
          if (fresh.metadata.uid !== object.metadata.uid)
            throw new PinwardenError(
              'PW_KUBE_API',
              `${options.resource.kind} ${path(current)} was replaced while its status was written`,
              { details: { status: 409, reason: 'Conflict' } },
            );
          current = fresh;
        }
      }
    },
  };
}

/** The merge patch of `status`, or undefined when the live status already says all of it. */
export function statusPatch(object: KubeObject, update: StatusUpdate): Record<string, unknown> | undefined {
  const status = (object.status ?? {}) as Record<string, unknown>;
  const live = (Array.isArray(status.conditions) ? status.conditions : [])
    .map(parseCondition)
    .filter((condition): condition is Condition => condition !== undefined);
  const owned = new Set(update.owned);
  const ours = new Map(
    update.conditions.filter((condition) => owned.has(condition.type)).map((condition) => [condition.type, condition]),
  );
  const merged: Condition[] = [];
  // Keep the live order (others' conditions stay where they are), then append our new types.
  for (const condition of live) {
    if (!owned.has(condition.type)) merged.push(condition);
    else if (ours.has(condition.type)) {
      merged.push(ours.get(condition.type)!);
      ours.delete(condition.type);
    }
  }
  merged.push(...ours.values());

  const patch: Record<string, unknown> = {};
  const conditionsChanged =
    merged.length !== live.length ||
    merged.some(
      (condition, index) =>
        !sameCondition(condition, live[index]) || condition.lastTransitionTime !== live[index]?.lastTransitionTime,
    );
  if (conditionsChanged) patch.conditions = merged;
  if (update.observedGeneration !== undefined && status.observedGeneration !== update.observedGeneration)
    patch.observedGeneration = update.observedGeneration;
  for (const [key, value] of Object.entries(update.fields ?? {})) {
    if (value === null ? key in status : !deepEqual(status[key], value)) patch[key] = value;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
