/**
 * `serve --policy-source=cluster`: the policy in force comes from the cluster's `SourcePolicy` objects and the
 * exceptions from its `SourcePolicyException` objects (CRDs in deploy/crds). Two informers (list + watch) feed
 * the pure reconcilers of core/policy-set; the result goes into the process's one policy holder (runtime), so
 * generation, logs and reload metrics are those of the file source. Each object gets a `Ready` condition in its
 * status and, when that condition changes, an Event. An invalid change keeps the last good policy.
 *
 * Exceptions are judged by the injected clock at each review; a timer at the next `expires` flips the expired
 * one's status to `Expired` (and emits its Event) on time.
 */
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import type { ExceptionSet, SourcePolicyException } from '../core/exceptions/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import {
  EMPTY_EXCEPTION_SET,
  EMPTY_POLICY_SET,
  reconcileExceptions,
  reconcilePolicies,
} from '../core/policy-set/index.ts';
import type { ExceptionSetMemory, ObjectReport, PolicySetMemory } from '../core/policy-set/index.ts';
import { createPolicyHolder, systemClock } from '../runtime/index.ts';
import type { Clock, Logger, ReloadingPolicySource, Timer } from '../runtime/index.ts';
import type { KubeApi } from './api.ts';
import { createInformer } from './informer.ts';
import type { Informer } from './informer.ts';
import { RESOURCES, collectionPath, objectKey, objectPath } from './resource.ts';
import type { KubeObject, ResourceType } from './resource.ts';

export const POLICY_RESOURCES = {
  sourcePolicy: {
    group: 'pinwarden.dev',
    version: 'v1alpha1',
    resource: 'sourcepolicies',
    namespaced: false,
    kind: 'SourcePolicy',
  },
  sourcePolicyException: {
    group: 'pinwarden.dev',
    version: 'v1alpha1',
    resource: 'sourcepolicyexceptions',
    namespaced: true,
    kind: 'SourcePolicyException',
  },
} as const satisfies Record<string, ResourceType>;

export interface ClusterPolicyOptions {
  api: KubeApi;
  logger: Logger;
  /** The policy while no SourcePolicy object is accepted: the built-in secure defaults. */
  fallback: SourcePolicy;
  clock?: Clock;
  onReload?: (outcome: 'ok' | 'error') => void;
  /** `source.component` of Events (default pinwarden). */
  component?: string;
  /** Informer tuning (tests). */
  informer?: { watchTimeoutSeconds?: number; backoff?: { initialMs: number; maxMs: number } };
}

export interface ClusterPolicySource extends ReloadingPolicySource {
  exceptions(): ExceptionSet;
  /** Resolves when both kinds were listed once and the first policy is in force; rejects when `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void>;
  synced(): boolean;
  /** The last report per object (`SourcePolicy/name`, `SourcePolicyException/ns/name`), as written to its status. */
  reports(): ReadonlyMap<string, ObjectReport>;
}

const READY = 'Ready';
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

export function startClusterPolicySource(options: ClusterPolicyOptions): ClusterPolicySource {
  const clock = options.clock ?? systemClock;
  const component = options.component ?? 'pinwarden';
  const holder = createPolicyHolder(options.fallback, {
    logger: options.logger,
    ...(options.onReload ? { onReload: options.onReload } : {}),
  });
  let policyMemory: PolicySetMemory = EMPTY_POLICY_SET;
  let exceptionMemory: ExceptionSetMemory = EMPTY_EXCEPTION_SET;
  let exceptions: SourcePolicyException[] = [];
  let expiryTimer: Timer | undefined;
  const reports = new Map<string, ObjectReport>();
  const stopper = new AbortController();
  let writes: Promise<void> = Promise.resolve();

  const onError = (error: PinwardenError): void => {
    options.logger.warn({ code: error.code }, `cluster policy: ${error.message}`);
  };
  const informers: Record<'policies' | 'exceptions', Informer> = {
    policies: createInformer({
      api: options.api,
      resource: POLICY_RESOURCES.sourcePolicy,
      onEvent: () => schedule(),
      onError,
      ...options.informer,
    }),
    exceptions: createInformer({
      api: options.api,
      resource: POLICY_RESOURCES.sourcePolicyException,
      onEvent: () => schedule(),
      onError,
      ...options.informer,
    }),
  };

  let scheduled = false;
  function schedule(): void {
    if (scheduled || stopper.signal.aborted) return;
    scheduled = true;
    // Events of one list or watch burst are judged together.
    queueMicrotask(() => {
      scheduled = false;
      reconcile();
    });
  }

  function reconcile(): void {
    if (!informers.policies.synced() || !informers.exceptions.synced()) return;
    const policyObjects = informers.policies.list();
    const policies = reconcilePolicies(policyObjects, policyMemory, options.fallback);
    policyMemory = policies.memory;
    if (policies.changed) holder.replace(policies.effective, { source: 'cluster', objects: policyObjects.length });
    const exceptionObjects = informers.exceptions.list();
    const judged = reconcileExceptions(exceptionObjects, exceptionMemory, new Date(clock.now()));
    exceptionMemory = judged.memory;
    exceptions = judged.exceptions;
    expiryTimer?.cancel();
    // Timers are capped (a far expiry re-arms daily): setTimeout cannot wait past 2^31 ms.
    expiryTimer =
      judged.nextExpiry === undefined
        ? undefined
        : clock.setTimer(() => schedule(), Math.min(MAX_TIMER_MS, Math.max(0, judged.nextExpiry - clock.now()) + 1));
    const byKey = new Map<string, KubeObject>();
    for (const object of policyObjects) byKey.set(`SourcePolicy/${objectKey(object)}`, object);
    for (const object of exceptionObjects) byKey.set(`SourcePolicyException/${objectKey(object)}`, object);
    const current = new Set<string>();
    for (const report of [...policies.reports, ...judged.reports]) {
      const key = `${report.kind}/${report.namespace ? `${report.namespace}/` : ''}${report.name}`;
      current.add(key);
      const object = byKey.get(key);
      if (object && !sameAsWritten(object, report)) publish(object, report);
      reports.set(key, report);
    }
    for (const key of [...reports.keys()]) if (!current.has(key)) reports.delete(key);
  }

  /** Status and Event writes are serialized and never block a review; a failure is logged, the next change retries. */
  function publish(object: KubeObject, report: ObjectReport): void {
    writes = writes
      .then(() => writeReport(object, report))
      .catch((error: unknown) => onError(toPinwardenError(error, 'PW_KUBE_API')));
  }

  async function writeReport(object: KubeObject, report: ObjectReport): Promise<void> {
    if (stopper.signal.aborted) return;
    const resource =
      report.kind === 'SourcePolicy' ? POLICY_RESOURCES.sourcePolicy : POLICY_RESOURCES.sourcePolicyException;
    const now = new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const previous = readyOf(object);
    const transitioned = previous === undefined || previous.status !== report.condition.status;
    const condition = {
      type: READY,
      status: report.condition.status,
      reason: report.condition.reason,
      message: report.condition.message,
      lastTransitionTime: transitioned ? now : (previous.lastTransitionTime ?? now),
      ...(report.generation !== undefined ? { observedGeneration: report.generation } : {}),
    };
    await options.api.request({
      method: 'PATCH',
      path: objectPath(resource, object.metadata.namespace, object.metadata.name, 'status'),
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          ...(report.generation !== undefined ? { observedGeneration: report.generation } : {}),
          conditions: [condition],
        },
      },
      timeoutMs: 5000,
      signal: stopper.signal,
    });
    if (previous?.reason === report.condition.reason && previous.message === report.condition.message) return;
    const context = {
      object: `${report.kind}/${objectKey(object)}`,
      reason: report.condition.reason,
      generation: report.generation,
    };
    if (report.kind === 'SourcePolicy' && report.condition.status === 'False')
      holder.refuse(new PinwardenError('PW_POLICY_INVALID', report.condition.message), context);
    else options.logger[report.condition.status === 'True' ? 'info' : 'warn'](context, report.condition.message);
    await recordEvent(object, resource, report);
  }

  async function recordEvent(object: KubeObject, resource: ResourceType, report: ObjectReport): Promise<void> {
    // Events of a cluster-scoped object live in `default`, as kubectl describe looks for them.
    const namespace = object.metadata.namespace ?? 'default';
    const time = new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    await options.api.request({
      method: 'POST',
      path: collectionPath(RESOURCES.event, namespace),
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${object.metadata.name.slice(0, 200)}.`, namespace },
        involvedObject: {
          apiVersion: `${resource.group}/${resource.version}`,
          kind: resource.kind,
          name: object.metadata.name,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
          uid: object.metadata.uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        reason: report.condition.reason,
        message: report.condition.message,
        type: report.condition.status === 'True' ? 'Normal' : 'Warning',
        source: { component },
        reportingComponent: component,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
      timeoutMs: 5000,
      signal: stopper.signal,
    });
  }

  informers.policies.start();
  informers.exceptions.start();

  return {
    current: () => holder.current(),
    generation: () => holder.generation(),
    onChange: (listener) => holder.onChange(listener),
    exceptions: () => ({ exceptions, now: new Date(clock.now()) }),
    synced: () => informers.policies.synced() && informers.exceptions.synced(),
    async waitForSync(signal) {
      await informers.policies.waitForSync(signal);
      await informers.exceptions.waitForSync(signal);
      reconcile();
    },
    reports: () => reports,
    close() {
      stopper.abort();
      expiryTimer?.cancel();
      void informers.policies.stop();
      void informers.exceptions.stop();
    },
  };
}

interface WrittenCondition {
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

function readyOf(object: KubeObject): WrittenCondition | undefined {
  const conditions = (object.status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as Array<WrittenCondition & { type?: string }>).find((condition) => condition.type === READY);
}

/** The object's status already says this (after a restart, or our own status write coming back by watch). */
function sameAsWritten(object: KubeObject, report: ObjectReport): boolean {
  const written = readyOf(object);
  return (
    written !== undefined &&
    written.status === report.condition.status &&
    written.reason === report.condition.reason &&
    written.message === report.condition.message &&
    written.observedGeneration === report.generation
  );
}
