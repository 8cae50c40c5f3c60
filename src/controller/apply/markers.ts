/**
 * Flux's per-object labels and annotations (kustomize-controller, fluxcd/pkg `ssa`): read from labels
 * **or** annotations, values compared case-insensitively. Pure.
 */
import type { KubeObject } from './objects.ts';

export const FLUX_GROUP = 'kustomize.toolkit.fluxcd.io';
export const OWNER_NAME_LABEL = `${FLUX_GROUP}/name`;
export const OWNER_NAMESPACE_LABEL = `${FLUX_GROUP}/namespace`;
export const SSA_KEY = `${FLUX_GROUP}/ssa`;
export const RECONCILE_KEY = `${FLUX_GROUP}/reconcile`;
export const FORCE_KEY = `${FLUX_GROUP}/force`;
export const PRUNE_KEY = `${FLUX_GROUP}/prune`;

function marker(object: KubeObject, key: string): string | undefined {
  return object.metadata.labels?.[key] ?? object.metadata.annotations?.[key];
}

function is(object: KubeObject, key: string, value: string): boolean {
  const found = [object.metadata.labels?.[key], object.metadata.annotations?.[key]];
  return found.some((text) => typeof text === 'string' && text.toLowerCase() === value.toLowerCase());
}

export type SsaPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

export function ssaPolicy(object: KubeObject): SsaPolicy {
  for (const policy of ['Merge', 'IfNotPresent', 'Ignore'] as const) if (is(object, SSA_KEY, policy)) return policy;
  return 'Override';
}

export function reconcileDisabled(object: KubeObject): boolean {
  return is(object, RECONCILE_KEY, 'disabled');
}

export function forceEnabled(object: KubeObject): boolean {
  return is(object, FORCE_KEY, 'enabled');
}

export function pruneDisabled(object: KubeObject): boolean {
  return is(object, PRUNE_KEY, 'disabled');
}

/** Flux's `ExclusionSelector`: neither applied nor pruned (`reconcile: disabled`, `ssa: Ignore`). */
export function excludedFromApply(object: KubeObject): boolean {
  return reconcileDisabled(object) || ssaPolicy(object) === 'Ignore';
}

/** Kept by garbage collection: `prune: disabled` or an apply exclusion. */
export function excludedFromPrune(object: KubeObject): boolean {
  return pruneDisabled(object) || excludedFromApply(object);
}

export interface Owner {
  name: string;
  namespace: string;
}

/** Both ownership labels name this Kustomization (Flux's prune inclusion selector, on the live object). */
export function ownedBy(object: KubeObject, owner: Owner): boolean {
  return (
    object.metadata.labels?.[OWNER_NAME_LABEL] === owner.name &&
    object.metadata.labels[OWNER_NAMESPACE_LABEL] === owner.namespace
  );
}

export function withOwnerLabels(object: KubeObject, owner: Owner): KubeObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: {
        ...(object.metadata.labels ?? {}),
        [OWNER_NAME_LABEL]: owner.name,
        [OWNER_NAMESPACE_LABEL]: owner.namespace,
      },
    },
  };
}

export { marker as readMarker };
