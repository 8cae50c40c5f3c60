/**
 * metav1.Condition handling as Flux does it (fluxcd/pkg `runtime/conditions`): a condition keeps its
 * `lastTransitionTime` while its status stays the same; `observedGeneration` is the object's generation.
 * The set is seeded from the object's current status and only the types the reconciler owns are changed.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** The condition types Flux source and kustomize controllers use. */
export const CONDITION = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  healthy: 'Healthy',
  artifactInStorage: 'ArtifactInStorage',
  artifactOutdated: 'ArtifactOutdated',
  sourceVerified: 'SourceVerified',
  fetchFailed: 'FetchFailed',
  storageOperationFailed: 'StorageOperationFailed',
} as const;

/** Flux's general reasons (fluxcd/pkg `apis/meta`). */
export const REASON = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  progressing: 'Progressing',
  progressingWithRetry: 'ProgressingWithRetry',
} as const;

/** Longest message kept in a condition (Flux trims to 32 KiB; a status is not a log). */
export const MAX_CONDITION_MESSAGE = 4096;

export class ConditionSet {
  readonly #items = new Map<string, Condition>();
  readonly #generation: number | undefined;
  readonly #now: () => Date;

  constructor(existing: unknown, generation: number | undefined, now: () => Date = () => new Date()) {
    this.#generation = generation;
    this.#now = now;
    if (Array.isArray(existing)) {
      for (const raw of existing) {
        const condition = parseCondition(raw);
        if (condition) this.#items.set(condition.type, condition);
      }
    }
  }

  get(type: string): Condition | undefined {
    return this.#items.get(type);
  }

  isTrue(type: string): boolean {
    return this.#items.get(type)?.status === 'True';
  }

  isFalse(type: string): boolean {
    return this.#items.get(type)?.status === 'False';
  }

  set(type: string, status: ConditionStatus, reason: string, message: string): void {
    const previous = this.#items.get(type);
    const trimmed =
      message.length > MAX_CONDITION_MESSAGE ? `${message.slice(0, MAX_CONDITION_MESSAGE - 1)}…` : message;
    this.#items.set(type, {
      type,
      status,
      reason,
      message: trimmed,
      ...(this.#generation !== undefined ? { observedGeneration: this.#generation } : {}),
      lastTransitionTime:
        previous && previous.status === status
          ? previous.lastTransitionTime
          : this.#now()
              .toISOString()
              .replace(/\.\d+Z$/, 'Z'),
    });
  }

  markTrue(type: string, reason: string, message: string): void {
    this.set(type, 'True', reason, message);
  }

  markFalse(type: string, reason: string, message: string): void {
    this.set(type, 'False', reason, message);
  }

  markUnknown(type: string, reason: string, message: string): void {
    this.set(type, 'Unknown', reason, message);
  }

  delete(type: string): void {
    this.#items.delete(type);
  }

  /** Ready first, then the others by type (a stable order keeps an unchanged status byte-identical). */
  list(): Condition[] {
    return [...this.#items.values()].sort((a, b) =>
      a.type === 'Ready' ? -1 : b.type === 'Ready' ? 1 : a.type.localeCompare(b.type),
    );
  }
}

export function parseCondition(raw: unknown): Condition | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  const { type, status, reason, message, observedGeneration, lastTransitionTime } = record;
  if (typeof type !== 'string' || (status !== 'True' && status !== 'False' && status !== 'Unknown')) return undefined;
  return {
    type,
    status,
    reason: typeof reason === 'string' ? reason : '',
    message: typeof message === 'string' ? message : '',
    ...(typeof observedGeneration === 'number' ? { observedGeneration } : {}),
    lastTransitionTime: typeof lastTransitionTime === 'string' ? lastTransitionTime : new Date(0).toISOString(),
  };
}

/** Same type, status, reason, message and observedGeneration (the transition time follows from them). */
export function sameCondition(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.type === b.type &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.observedGeneration === b.observedGeneration
  );
}
