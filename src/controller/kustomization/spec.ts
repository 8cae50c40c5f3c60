/**
 * A tolerant view of a Kustomization (kustomize.toolkit.fluxcd.io/v1) with Flux's defaults: a
 * tenant-written object, so every field is type-checked and a bad one becomes a message, never a
 * throw. Pure.
 */
import { parseGoDurationMs } from '../../core/duration.ts';
import type { InventoryEntry } from '../apply/index.ts';
import type { Condition } from '../runtime/index.ts';

export interface SourceRef {
  kind: string;
  name: string;
  namespace: string;
  apiVersion?: string;
}

export interface HealthCheckRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface DependencyRef {
  name: string;
  namespace: string;
  readyExpr?: string;
}

/**
 * `spec.kubeConfig`: a Secret in the Kustomization's namespace (`key`, else `value` then `value.yaml`), or a
 * ConfigMap for cloud workload identity (`configMapRef`), which pinwarden cannot use.
 */
export type KubeConfigRef =
  | { kind: 'Secret'; name: string; key?: string }
  | { kind: 'ConfigMap'; name: string }
  | { kind: 'invalid'; problem: string };

export interface KustomizationSpecView {
  name: string;
  namespace: string;
  generation?: number;
  annotations: Record<string, string>;
  suspend: boolean;
  intervalMs: number;
  retryIntervalMs: number;
  /** Flux's `GetTimeout`: `timeout`, else `interval − 30s`; never under 30 s. */
  timeoutMs: number;
  path: string;
  prune: boolean;
  /** What deleting the Kustomization does to its objects (Flux's default `MirrorPrune`: follow `prune`). */
  deletionPolicy: DeletionPolicy;
  force: boolean;
  wait: boolean;
  targetNamespace?: string;
  serviceAccountName?: string;
  /** Apply, prune, health checks and wait go to this remote cluster instead. */
  kubeConfig?: KubeConfigRef;
  sourceRef: SourceRef;
  dependsOn: DependencyRef[];
  healthChecks: HealthCheckRef[];
  /** Fields pinwarden cannot honour without a build (patches, images, postBuild, …): named for the message. */
  unsupported: string[];
  problems: string[];
}

export const DELETION_POLICIES = ['MirrorPrune', 'Delete', 'WaitForTermination', 'Orphan'] as const;
/** One of `DELETION_POLICIES`, or another string the CRD should have refused (then nothing is deleted). */
export type DeletionPolicy = (typeof DELETION_POLICIES)[number] | (string & {});

export interface KustomizationStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastAppliedOriginRevision?: string;
  lastHandledReconcileAt?: string;
  inventory?: { entries: InventoryEntry[] };
  history?: unknown[];
  [key: string]: unknown;
}

export interface KustomizationObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    generation?: number;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: KustomizationStatus;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

const BUILD_FIELDS = [
  'patches',
  'images',
  'components',
  'postBuild',
  'decryption',
  'commonMetadata',
  'namePrefix',
  'nameSuffix',
  'healthCheckExprs',
];

export function readSpec(object: KustomizationObject): KustomizationSpecView {
  const spec = record(object.spec);
  const namespace = object.metadata.namespace ?? 'default';
  const problems: string[] = [];
  const duration = (field: string, fallback: number | undefined): number | undefined => {
    const value = spec[field];
    if (value === undefined) return fallback;
    const ms = typeof value === 'string' ? parseGoDurationMs(value) : undefined;
    if (ms === undefined || ms < 0) {
      problems.push(`spec.${field} is not a duration`);
      return fallback;
    }
    return ms;
  };
  const intervalMs = duration('interval', undefined) ?? 600_000;
  const retryIntervalMs = duration('retryInterval', undefined) ?? intervalMs;
  const timeoutMs = Math.max(30_000, duration('timeout', undefined) ?? intervalMs - 30_000);
  const source = record(spec.sourceRef);
  const sourceRef: SourceRef = {
    kind: text(source.kind) ?? '',
    name: text(source.name) ?? '',
    namespace: text(source.namespace) ?? namespace,
    ...(text(source.apiVersion) === undefined ? {} : { apiVersion: text(source.apiVersion) }),
  };
  if (sourceRef.name === '') problems.push('spec.sourceRef.name is missing');
  const list = (field: string): Record<string, unknown>[] =>
    Array.isArray(spec[field]) ? (spec[field] as unknown[]).map(record) : [];
  const dependsOn = list('dependsOn').map((dep) => ({
    name: text(dep.name) ?? '',
    namespace: text(dep.namespace) ?? namespace,
    ...(text(dep.readyExpr) === undefined ? {} : { readyExpr: text(dep.readyExpr) }),
  }));
  const healthChecks = list('healthChecks').map((ref) => ({
    apiVersion: text(ref.apiVersion) ?? '',
    kind: text(ref.kind) ?? '',
    name: text(ref.name) ?? '',
    namespace: text(ref.namespace) ?? '',
  }));
  return {
    name: object.metadata.name ?? '',
    namespace,
    ...(object.metadata.generation === undefined ? {} : { generation: object.metadata.generation }),
    annotations: record(object.metadata.annotations) as Record<string, string>,
    suspend: spec.suspend === true,
    intervalMs,
    retryIntervalMs,
    timeoutMs,
    path: typeof spec.path === 'string' ? spec.path : '',
    prune: spec.prune === true,
    deletionPolicy:
      typeof spec.deletionPolicy === 'string' && spec.deletionPolicy !== '' ? spec.deletionPolicy : 'MirrorPrune',
    force: spec.force === true,
    wait: spec.wait === true,
    ...(text(spec.targetNamespace) === undefined ? {} : { targetNamespace: text(spec.targetNamespace) }),
    ...(text(spec.serviceAccountName) === undefined ? {} : { serviceAccountName: text(spec.serviceAccountName) }),
    ...(spec.kubeConfig === undefined || spec.kubeConfig === null
      ? {}
      : { kubeConfig: kubeConfigRef(spec.kubeConfig) }),
    sourceRef,
    dependsOn,
    healthChecks,
    unsupported: BUILD_FIELDS.filter(
      (field) =>
        spec[field] !== undefined &&
        spec[field] !== null &&
        !(Array.isArray(spec[field]) && (spec[field] as unknown[]).length === 0),
    ).map((field) => `spec.${field}`),
    problems,
  };
}

function kubeConfigRef(value: unknown): KubeConfigRef {
  const ref = record(value);
  const secret = record(ref.secretRef);
  const configMap = record(ref.configMapRef);
  if (ref.secretRef !== undefined && ref.configMapRef !== undefined)
    return { kind: 'invalid', problem: 'spec.kubeConfig names both secretRef and configMapRef' };
  if (ref.secretRef !== undefined) {
    const name = text(secret.name);
    if (name === undefined) return { kind: 'invalid', problem: 'spec.kubeConfig.secretRef.name is missing' };
    const key = text(secret.key);
    return { kind: 'Secret', name, ...(key === undefined ? {} : { key }) };
  }
  if (ref.configMapRef !== undefined) return { kind: 'ConfigMap', name: text(configMap.name) ?? '' };
  return { kind: 'invalid', problem: 'spec.kubeConfig names neither secretRef nor configMapRef' };
}
