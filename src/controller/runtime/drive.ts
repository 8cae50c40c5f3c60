/**
 * One reconcile of one object, the same for every kind: seed the conditions from the live status, run the
 * steps (stopping between two steps when the controller shuts down), summarize, write the status through the
 * status subresource, record the Events, and hand the requeue decision back to the manager.
 */
import type { PinwardenError } from '../../core/errors.ts';
import { toPinwardenError } from '../../core/errors.ts';
import type { KubeObject } from '../../kube/index.ts';
import { CONDITION } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import { conditionsOf, summarize } from './reconcile.ts';
import type { ReconcileScope, ReconcileStep, StepResult, Summary, SummaryRules } from './reconcile.ts';
import type { FinalizerWriter } from './finalizers.ts';
import type { ReconcileAnswer } from './manager.ts';
import type { StatusWriter } from './status.ts';

/** What every kind's controller writes through: the status subresource, pinwarden's finalizer, Events. */
export interface ReconcilerWriters {
  status: StatusWriter;
  /** Added on the first reconcile, removed once the kind's finalize step has cleaned up (finalizers.ts). */
  finalizers: FinalizerWriter;
  events: EventRecorder;
}

export interface DriveOptions<S extends Record<string, unknown>> {
  object: KubeObject;
  steps: ReadonlyArray<ReconcileStep<S>>;
  rules: SummaryRules;
  /** Success requeue, already jittered. */
  intervalMs: number;
  status: StatusWriter;
  events: EventRecorder;
  /** Aborts the reconcile (deadline). */
  signal: AbortSignal;
  /** Aborts when the controller stops: the step in flight finishes, no further step starts. */
  stopping?: AbortSignal;
  now?: () => Date;
  /** Status fields set before the steps run (e.g. `lastHandledReconcileAt`). */
  initialStatus?: Partial<S>;
}

export type DriveOutcome = { interrupted: true } | ({ interrupted: false } & Summary & { object: KubeObject });

export async function drive<S extends Record<string, unknown>>(options: DriveOptions<S>): Promise<DriveOutcome> {
  const now = options.now ?? (() => new Date());
  const previousReady = conditionsOf(options.object, now).get(CONDITION.ready);
  const scope: ReconcileScope<S> = {
    object: options.object,
    conditions: conditionsOf(options.object, now),
    status: { ...(options.initialStatus ?? {}) } as Partial<S>,
    events: [],
    signal: options.signal,
    now,
    facts: {},
  };
  let result: StepResult = { kind: 'done' };
  for (const step of options.steps) {
    if (options.stopping?.aborted) return { interrupted: true };
    try {
      result = await step(scope);
    } catch (error) {
      result = { kind: 'fail', error: toPinwardenError(error) };
    }
    if (result.kind !== 'continue') break;
  }
  if (result.kind === 'continue') result = { kind: 'done' };
  const summary = summarize({
    scope: scope,
    result,
    rules: options.rules,
    intervalMs: options.intervalMs,
    ...(previousReady ? { previousReady } : {}),
  });
  let stored = options.object;
  try {
    stored = await options.status.write(
      options.object,
      {
        conditions: summary.conditions.list(),
        owned: options.rules.owned,
        ...(summary.observeGeneration && options.object.metadata.generation !== undefined
          ? { observedGeneration: options.object.metadata.generation }
          : {}),
        fields: scope.status,
      },
      options.signal,
    );
  } catch (error) {
    // The status could not be written: the reconcile failed (the queue backs off) whatever the steps said.
    const failure = toPinwardenError(error);
    return {
      interrupted: false,
      ...summary,
      result: { kind: 'fail', error: failure },
      requeue: { rateLimited: true, minMs: retryAfter(failure) },
      object: stored,
    };
  }
  for (const event of summary.events) await options.events.record(stored, event, options.signal);
  return { interrupted: false, ...summary, object: stored };
}

/** The manager's answer for a driven reconcile: its requeue, and the step's error when it failed or stalled. */
export function answerOf(outcome: DriveOutcome): ReconcileAnswer {
  if (outcome.interrupted) return { result: 'interrupted', requeue: { never: true } };
  const result = outcome.result;
  if (result.kind !== 'fail') return { result: 'success', requeue: outcome.requeue };
  return { result: result.stalled === true ? 'stalled' : 'failure', requeue: outcome.requeue, error: result.error };
}

function retryAfter(error: PinwardenError): number {
  const value = error.details.retryAfterMs;
  return typeof value === 'number' ? value : 0;
}
