/**
 * Flux's apply order and stages (fluxcd/pkg `ssa` `ReconcileOrder`, `ApplyAllStaged`). Pure.
 *
 * Stage 1 ("definitions"): CustomResourceDefinitions, Namespaces and ClusterRoles (and every other
 * `apiextensions.k8s.io` / `rbac.authorization.k8s.io` cluster role kind Flux puts there), applied and
 * then waited for (CRDs `Established`). Stage 2: kinds ending in `Class`, applied then waited for.
 * Stage 3: everything else. Inside a stage, objects are sorted by Flux's kind order, then group, kind,
 * namespace, name; deletion (prune) runs in the reverse order.
 */
import { objectId, splitApiVersion } from './objects.ts';
import type { KubeObject, ObjectId } from './objects.ts';

const FIRST = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ClusterRoleBinding',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function kindRank(kind: string): number {
  const first = FIRST.indexOf(kind);
  if (first >= 0) return first;
  const last = LAST.indexOf(kind);
  if (last >= 0) return FIRST.length + 1 + last;
  return FIRST.length;
}

export function compareIds(a: ObjectId, b: ObjectId): number {
  const rank = kindRank(a.kind) - kindRank(b.kind);
  if (rank !== 0) return rank;
  for (const key of ['group', 'kind', 'namespace', 'name'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  return 0;
}

export function sortForApply<T extends KubeObject>(objects: readonly T[]): T[] {
  return objects.slice().sort((a, b) => compareIds(objectId(a), objectId(b)));
}

export function sortForDelete(ids: readonly ObjectId[]): ObjectId[] {
  return ids.slice().sort((a, b) => compareIds(b, a));
}

export type StageName = 'definitions' | 'classes' | 'resources';

export function stageOf(object: KubeObject): StageName {
  const { group } = splitApiVersion(object.apiVersion);
  if (group === 'apiextensions.k8s.io' && object.kind === 'CustomResourceDefinition') return 'definitions';
  if (group === '' && object.kind === 'Namespace') return 'definitions';
  if (group === 'rbac.authorization.k8s.io' && object.kind === 'ClusterRole') return 'definitions';
  if (object.kind.endsWith('Class')) return 'classes';
  return 'resources';
}

export interface Stage {
  name: StageName;
  objects: KubeObject[];
  /** Wait until every object of the stage is Current before the next stage (Flux: defStage and classStage). */
  wait: boolean;
}

/** The objects split into Flux's stages, each sorted; empty stages are left out. */
export function stages(objects: readonly KubeObject[]): Stage[] {
  const out: Stage[] = [];
  for (const name of ['definitions', 'classes', 'resources'] as const) {
    const members = sortForApply(objects.filter((object) => stageOf(object) === name));
    if (members.length > 0) out.push({ name, objects: members, wait: name !== 'resources' });
  }
  return out;
}
