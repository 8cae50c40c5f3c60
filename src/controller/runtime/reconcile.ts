/**
 * The reconcile shape every pinwarden reconciler uses (Flux's: a list of ordered steps with one signature),
 * and the ONE summarizer that turns the steps' outcome into the object's conditions, the Events to record and
 * the requeue decision.
 *
 * A step reads the object and the scope, may set conditions and status fields and record Events, and returns
 * `continue` (next step), `done` (success, stop here: e.g. the artifact is up to date) or `fail` (an error
 * from the catalogue; `stalled` when only a spec change can fix it). A step that throws is a `fail` with the
 * error converted through the catalogue.
 */
import { ERRORS, PinwardenError, toPinwardenError } from '../../core/errors.ts';
import type { KubeObject } from '../../kube/index.ts';
import { CONDITION, ConditionSet, REASON, sameCondition } from './conditions.ts';
import type { Condition } from './conditions.ts';

export type StepResult =
  | { kind: 'continue' }
  | { kind: 'done'; requeueAfterMs?: number }
  | { kind: 'fail'; error: PinwardenError; stalled?: boolean; requeueAfterMs?: number };

export const CONTINUE: StepResult = Object.freeze({ kind: 'continue' });

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Event annotations (Flux: `source.toolkit.fluxcd.io/revision`, `…/digest`). */
  annotations?: Record<string, string>;
}

export interface ReconcileScope<S extends Record<string, unknown> = Record<string, unknown>> {
  readonly object: KubeObject;
  readonly conditions: ConditionSet;
  /** Status fields this reconcile writes (besides conditions and observedGeneration); `null` deletes one. */
  readonly status: Partial<S>;
  readonly events: RecordedEvent[];
  /** Aborts on shutdown or at the reconcile's deadline. */
  readonly signal: AbortSignal;
  readonly now: () => Date;
  /** Facts for the steps that follow (resolved revision, fetched manifest…). */
  readonly facts: Record<string, unknown>;
}

export type ReconcileStep<S extends Record<string, unknown> = Record<string, unknown>> = (
  scope: ReconcileScope<S>,
) => Promise<StepResult>;

/** Runs the steps in order until one does not `continue`. */
export async function runSteps<S extends Record<string, unknown>>(
  steps: ReadonlyArray<ReconcileStep<S>>,
  scope: ReconcileScope<S>,
): Promise<StepResult> {
  for (const step of steps) {
    let result: StepResult;
    try {
      result = await step(scope);
    } catch (error) {
      result = { kind: 'fail', error: toPinwardenError(error) };
    }
    if (result.kind !== 'continue') return result;
  }
  return { kind: 'done' };
}

export interface SummaryRules {
  /** The conditions that make up Ready, in priority order (Flux's `Summarize` list). */
  summarize: readonly string[];
  /** Of those, the ones that are bad when True (Flux's negative polarity). */
  negativePolarity: readonly string[];
  /** Every condition type this reconciler writes; the others on the object belong to someone else. */
  owned: readonly string[];
  /** Ready's reason on success (default `Succeeded`; kustomize-controller writes `ReconciliationSucceeded`). */
  successReason?: string;
  /**
   * On a failed reconcile, Ready takes the error's own reason and message (source-controller: the reconcile
   * error decides Ready, e.g. `VerificationError` even while `ArtifactOutdated` is also set). Default: Ready
   * mirrors the first bad condition, and the error only when no condition is bad.
   */
  readyFromError?: boolean;
}

export interface Summary {
  conditions: ConditionSet;
  ready: Condition;
  /** Set `status.observedGeneration` to the object's generation (success, or stalled). */
  observeGeneration: boolean;
  requeue: { afterMs: number } | { rateLimited: true; minMs: number } | { never: true };
  events: RecordedEvent[];
  result: StepResult;
}

export interface SummarizeInput {
  scope: ReconcileScope<Record<string, unknown>>;
  result: StepResult;
  rules: SummaryRules;
  /** The object's Ready condition before this reconcile (events are recorded on a change of result). */
  previousReady?: Condition;
  /** Success requeue (already jittered). */
  intervalMs: number;
}

export function summarize(input: SummarizeInput): Summary {
  const { scope, result, rules } = input;
  const conditions = scope.conditions;
  if (result.kind === 'fail') {
    const reason = ERRORS[result.error.code].reason;
    if (result.stalled) {
      conditions.markTrue(CONDITION.stalled, reason, result.error.message);
      conditions.delete(CONDITION.reconciling);
    } else {
      conditions.delete(CONDITION.stalled);
      const reconciling = conditions.get(CONDITION.reconciling);
      if (reconciling?.status === 'True')
        conditions.markTrue(CONDITION.reconciling, REASON.progressingWithRetry, reconciling.message);
    }
  } else {
    conditions.delete(CONDITION.reconciling);
    conditions.delete(CONDITION.stalled);
  }

  const ready = readySummary(conditions, rules);
  if (result.kind === 'fail' && (ready.status !== 'False' || rules.readyFromError === true)) {
    conditions.markFalse(CONDITION.ready, ERRORS[result.error.code].reason, result.error.message);
  } else {
    conditions.set(CONDITION.ready, ready.status, ready.reason, ready.message);
  }
  const finalReady = conditions.get(CONDITION.ready)!;

  const events = [...scope.events];
  const changed = !sameResult(input.previousReady, finalReady);
  if (changed && events.length === 0) {
    events.push({
      type: finalReady.status === 'False' ? 'Warning' : 'Normal',
      reason: finalReady.reason,
      message: finalReady.message,
    });
  }

  const requeue: Summary['requeue'] =
    result.kind === 'fail'
      ? result.stalled
        ? { never: true }
        : result.requeueAfterMs !== undefined
          ? { afterMs: result.requeueAfterMs }
          : { rateLimited: true, minMs: retryAfterOf(result.error) }
      : { afterMs: (result.kind === 'done' ? result.requeueAfterMs : undefined) ?? input.intervalMs };

  return {
    conditions,
    ready: finalReady,
    observeGeneration: result.kind !== 'fail' || result.stalled === true,
    requeue,
    events,
    result,
  };
}

/** Flux's merge: the first bad condition (negative True, or positive False), else the first Unknown, else the first good one. */
function readySummary(
  conditions: ConditionSet,
  rules: SummaryRules,
): { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } {
  const negative = new Set(rules.negativePolarity);
  const present = rules.summarize
    .map((type) => conditions.get(type))
    .filter((condition): condition is Condition => condition !== undefined);
  const bad = present.find((condition) =>
    negative.has(condition.type) ? condition.status === 'True' : condition.status === 'False',
  );
  if (bad) return { status: 'False', reason: bad.reason, message: bad.message };
  const unknown = present.find((condition) => condition.status === 'Unknown');
  if (unknown) return { status: 'Unknown', reason: unknown.reason, message: unknown.message };
  const good = present.find((condition) => !negative.has(condition.type) && condition.status === 'True');
  if (good) return { status: 'True', reason: rules.successReason ?? REASON.succeeded, message: good.message };
  return { status: 'True', reason: rules.successReason ?? REASON.succeeded, message: 'reconciliation succeeded' };
}

function sameResult(previous: Condition | undefined, next: Condition): boolean {
  return (
    previous !== undefined && sameCondition({ ...previous, observedGeneration: 0 }, { ...next, observedGeneration: 0 })
  );
}

function retryAfterOf(error: PinwardenError): number {
  const value = error.details.retryAfterMs;
  return typeof value === 'number' && value > 0 ? value : 0;
}

/** Sets `Reconciling=True` and `Ready=Unknown` with the same message, as Flux does while a reconcile progresses. */
export function markProgressing(conditions: ConditionSet, message: string): void {
  conditions.markTrue(CONDITION.reconciling, REASON.progressing, message);
  conditions.markUnknown(CONDITION.ready, REASON.progressing, message);
}

/** A new ConditionSet from the object's status, at its generation. */
export function conditionsOf(object: KubeObject, now?: () => Date): ConditionSet {
  const status = (object.status ?? {}) as { conditions?: unknown };
  return new ConditionSet(status.conditions, object.metadata.generation, now);
}

export { PinwardenError };
