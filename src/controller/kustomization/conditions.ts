/**
 * Condition bookkeeping as fluxcd/pkg `runtime/conditions` does it: one entry per type, each carrying
 * the object's generation, and `lastTransitionTime` moving only when the status changes. Pure.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const HEALTHY = 'Healthy';
export const STALLED = 'Stalled';

/** Flux's reasons (fluxcd/pkg `apis/meta`, kustomize-controller `api/v1`). */
export const REASONS = {
  progressing: 'Progressing',
  progressingWithRetry: 'ProgressingWithRetry',
  succeeded: 'Succeeded',
  reconciliationSucceeded: 'ReconciliationSucceeded',
  reconciliationFailed: 'ReconciliationFailed',
  artifactFailed: 'ArtifactFailed',
  buildFailed: 'BuildFailed',
  pruneFailed: 'PruneFailed',
  healthCheckFailed: 'HealthCheckFailed',
  dependencyNotReady: 'DependencyNotReady',
  accessDenied: 'AccessDenied',
  invalidCELExpression: 'InvalidCELExpression',
} as const;

export class Conditions {
  private readonly list: Condition[];
  private readonly generation: number | undefined;
  private readonly now: () => Date;

  constructor(previous: readonly Condition[] | undefined, generation: number | undefined, now: () => Date) {
    const list: readonly unknown[] = Array.isArray(previous) ? previous : [];
    this.list = list.filter((item): item is Condition => typeof item === 'object' && item !== null && typeof (item as { type?: unknown }).type === 'string').map((condition) => ({ ...condition }));
    this.generation = generation;
    this.now = now;
  }

  get(type: string): Condition | undefined {
    return this.list.find((condition) => condition.type === type);
  }

  is(type: string, status: ConditionStatus): boolean {
    return this.get(type)?.status === status;
  }

  set(type: string, status: ConditionStatus, reason: string, message: string): void {
    const previous = this.get(type);
    const next: Condition = {
      type,
      status,
      ...(this.generation === undefined ? {} : { observedGeneration: this.generation }),
      lastTransitionTime: previous !== undefined && previous.status === status ? previous.lastTransitionTime : this.now().toISOString().replace(/\.\d+Z$/, 'Z'),
      reason,
      message,
    };
    if (previous === undefined) this.list.push(next);
    else this.list.splice(this.list.indexOf(previous), 1, next);
  }

  delete(type: string): void {
    const index = this.list.findIndex((condition) => condition.type === type);
    if (index >= 0) this.list.splice(index, 1);
  }

  /** fluxcd/pkg's order: Ready first, then every other condition by type. */
  toArray(): Condition[] {
    const key = (type: string): string => (type === READY ? '' : type);
    return this.list.slice().sort((a, b) => (key(a.type) < key(b.type) ? -1 : key(a.type) > key(b.type) ? 1 : 0)).map((condition) => ({ ...condition }));
  }
}
