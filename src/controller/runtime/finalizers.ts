/**
 * pinwarden's finalizer on the objects it reconciles (OCIRepository, Kustomization), written as Flux's
 * controllers write theirs but under pinwarden's own name (`finalizers.pinwarden.dev`; Flux's is
 * `finalizers.fluxcd.io`): the controller that put a finalizer on an object is the one that cleans up after it,
 * so two controllers never release each other's objects, and an object carrying only Flux's finalizer is
 * Flux's to garbage-collect, never pinwarden's.
 *
 * The write touches `metadata.finalizers` only: a JSON merge patch of the main resource carrying the list and
 * the object's resourceVersion as a precondition (another writer's finalizer is never lost: on 409 the object
 * is read again and the list recomputed). A finalizer change does not bump the generation, so it neither
 * wakes the manager's predicates nor touches spec or status.
 */
import { PinwardenError } from '../../core/errors.ts';
import { kubeStatusOf, objectPath } from '../../kube/index.ts';
import type { KubeApi, KubeObject, ResourceType } from '../../kube/index.ts';

export const FINALIZER = 'finalizers.pinwarden.dev';

export function finalizersOf(object: KubeObject): string[] {
  const list = (object.metadata as { finalizers?: unknown }).finalizers;
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
}

export function hasFinalizer(object: KubeObject, name = FINALIZER): boolean {
  return finalizersOf(object).includes(name);
}

export function isDeleting(object: KubeObject): boolean {
  const at = object.metadata.deletionTimestamp;
  return typeof at === 'string' && at !== '';
}

/**
 * The merge patch that adds or removes `name`, or undefined when the object already says so. The list is
 * written whole (a merge patch replaces lists), so the resourceVersion makes it a compare-and-swap.
 */
export function finalizerPatch(
  object: KubeObject,
  change: 'add' | 'remove',
  name = FINALIZER,
): { metadata: { resourceVersion?: string; finalizers: string[] } } | undefined {
  const current = finalizersOf(object);
  const present = current.includes(name);
  if ((change === 'add') === present) return undefined;
  const finalizers = change === 'add' ? [...current, name] : current.filter((item) => item !== name);
  return {
    metadata: {
      ...(object.metadata.resourceVersion === undefined ? {} : { resourceVersion: object.metadata.resourceVersion }),
      finalizers,
    },
  };
}

export interface FinalizerResult {
  /** The object as stored after the call (undefined when it is gone). */
  object: KubeObject | undefined;
  /** A write happened (false: the live object already said so, or it is gone). */
  written: boolean;
  /** The object no longer exists (404), or was replaced by another one of the same name. */
  gone: boolean;
}

export interface FinalizerWriter {
  readonly name: string;
  add(object: KubeObject, signal?: AbortSignal): Promise<FinalizerResult>;
  remove(object: KubeObject, signal?: AbortSignal): Promise<FinalizerResult>;
}

export interface FinalizerWriterOptions {
  api: KubeApi;
  resource: ResourceType;
  name?: string;
  /** Attempts on 409 Conflict (default 4). */
  attempts?: number;
  timeoutMs?: number;
}

export function createFinalizerWriter(options: FinalizerWriterOptions): FinalizerWriter {
  const name = options.name ?? FINALIZER;
  const attempts = options.attempts ?? 4;
  const path = (object: KubeObject): string =>
    objectPath(options.resource, object.metadata.namespace, object.metadata.name);

  const change = async (object: KubeObject, kind: 'add' | 'remove', signal?: AbortSignal): Promise<FinalizerResult> => {
    let current = object;
    for (let attempt = 1; ; attempt++) {
      const patch = finalizerPatch(current, kind, name);
      if (patch === undefined) return { object: current, written: false, gone: false };
      try {
        const stored = await options.api.request<KubeObject>({
          method: 'PATCH',
          path: path(current),
          contentType: 'application/merge-patch+json',
          body: patch,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(signal ? { signal } : {}),
        });
        return { object: stored, written: true, gone: false };
      } catch (error) {
        const status = kubeStatusOf(error);
        if (status === 404) return { object: undefined, written: false, gone: true };
        if (status !== 409 || attempt >= attempts) throw error;
      }
      let fresh: KubeObject;
      try {
        fresh = await options.api.request<KubeObject>({
          method: 'GET',
          path: path(current),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (kubeStatusOf(error) === 404) return { object: undefined, written: false, gone: true };
        throw error;
      }
      if (fresh.metadata.uid !== object.metadata.uid) {
        // Another object of the same name: ours is gone, and the new one is not this call's business.
        if (kind === 'remove') return { object: undefined, written: false, gone: true };
        throw new PinwardenError(
          'PW_KUBE_API',
          `${options.resource.kind} ${path(current)} was replaced while its finalizer was written`,
          { details: { status: 409, reason: 'Conflict' } },
        );
      }
      current = fresh;
    }
  };

  return {
    name,
    add: (object, signal) => change(object, 'add', signal),
    remove: (object, signal) => change(object, 'remove', signal),
  };
}
