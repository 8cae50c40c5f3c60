/**
 * The Kustomization reconciler, as kustomize-controller's `Reconcile` + `reconcile` do it, on the runtime's
 * one reconcile shape (ordered `ReconcileStep`s, the one summarizer, the status writer):
 *
 *   validate → source → dependsOn → artifact → build → apply → prune → health → ready
 *
 * (before the steps, Flux's prelude: an object being deleted is finalized — `./finalize.ts`, its inventory deleted
 * as `deletionPolicy` says, then pinwarden's finalizer removed —; an object without the finalizer gets it and is
 * requeued; a suspended object is left alone, status untouched). The status is
 * produced as Flux writes it: conditions Ready / Reconciling / Healthy / Stalled with Flux's reasons and
 * messages, lastAttemptedRevision, lastAppliedRevision, lastAppliedOriginRevision, inventory,
 * observedGeneration. Every failure names its Flux reason twice — on Ready (so a stale Ready never wins the
 * summary) and through its catalogue code (what the summarizer uses).
 */
import { formatGoDuration } from '../../core/duration.ts';
import { PinwardenError, toPinwardenError } from '../../core/errors.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { KubeObject, ObjectClient } from '../../kube/index.ts';
import { RESOURCES } from '../../kube/index.ts';
import {
  applySet,
  decodeId,
  prune,
  readManifests,
  setTargetNamespace,
  splitApiVersion,
  waitForCurrent,
} from '../apply/index.ts';
import type {
  ApplyResult,
  InventoryEntry,
  KubeObject as ManifestObject,
  ManifestLimits,
  WaitTarget,
} from '../apply/index.ts';
import {
  CONDITION,
  CONTINUE,
  REASON,
  answerOf,
  conditionsOf,
  drive,
  hasFinalizer,
  isDeleting,
  jittered,
  markProgressing,
  runSteps,
  summarize,
} from '../runtime/index.ts';
import type {
  KindController,
  ReconcileAnswer,
  ReconcileScope,
  ReconcileStep,
  ReconcilerWriters,
  StepResult,
  SummaryRules,
} from '../runtime/index.ts';
import { finalizeKustomization } from './finalize.ts';
import { manifestsDigest, upsertHistory } from './history.ts';
import { lines } from './lines.ts';
import { remoteClientFor } from './remote.ts';
import type { RemoteClusters } from './remote.ts';
import { readSpec } from './spec.ts';
import type { KustomizationObject, KustomizationSpecView, KustomizationStatus } from './spec.ts';

export const SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';
export const KUSTOMIZATION_API_VERSION = 'kustomize.toolkit.fluxcd.io/v1';
export const RECONCILE_REQUEST_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';
const ORIGIN_REVISION_KEY = 'org.opencontainers.image.revision';

/** kustomize-controller's reasons (fluxcd/pkg `apis/meta`, KC `api/v1`). */
export const REASONS = {
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

/** Ready is set by the steps themselves (kustomize-controller does not merge conditions into Ready). */
export const KUSTOMIZATION_RULES: SummaryRules = {
  summarize: [CONDITION.ready],
  negativePolarity: [],
  owned: [CONDITION.ready, CONDITION.reconciling, CONDITION.stalled, CONDITION.healthy],
  successReason: REASONS.reconciliationSucceeded,
};

/** The controller helper's artifact store answers where an artifact's extracted files are. */
export interface ArtifactLookup {
  directoryFor(digest: string): Promise<string | undefined>;
}

export interface KustomizationDeps {
  /** Reads sources and dependencies as the controller itself. */
  client: ObjectClient;
  /** The client applies, prunes and health checks go through: impersonating `serviceAccountName` when given. */
  clientFor(serviceAccount: { namespace: string; name: string } | undefined): ObjectClient;
  artifacts: ArtifactLookup;
  /**
   * `spec.kubeConfig`: the remote clusters the operator allowed (`--remote-cluster`); absent = none, and a
   * Kustomization with a kubeConfig is Stalled (`PW_REMOTE_CLUSTER_DENIED`).
   */
  remote?: RemoteClusters;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  options?: Partial<KustomizationOptions>;
}

export interface KustomizationOptions {
  /** `--requeue-dependency` (Flux: 30 s). */
  requeueDependencyMs: number;
  /** `--no-cross-namespace-refs`. */
  noCrossNamespaceRefs: boolean;
  /** `--default-service-account`: impersonated when a Kustomization names none. */
  defaultServiceAccount?: string;
  /** Health-check polling (Flux: 5 s) and the definitions stage wait (Flux: 2 s / 60 s). */
  healthIntervalMs: number;
  stageIntervalMs: number;
  stageTimeoutMs: number;
  manifestLimits?: ManifestLimits;
}

const DEFAULTS: KustomizationOptions = {
  requeueDependencyMs: 30_000,
  noCrossNamespaceRefs: false,
  healthIntervalMs: 5_000,
  stageIntervalMs: 2_000,
  stageTimeoutMs: 60_000,
};

type StatusFields = Omit<KustomizationStatus, 'conditions' | 'observedGeneration'>;
type Scope = ReconcileScope<Record<string, unknown>>;

/** What one reconcile carries from step to step (kept in `scope.facts.kustomization`). */
interface Run {
  spec: KustomizationSpecView;
  options: KustomizationOptions;
  previousInventory: InventoryEntry[];
  source?: { revision: string; digest: string; originRevision?: string };
  directory?: string;
  objects?: ManifestObject[];
  client?: ObjectClient;
  applied?: ApplyResult;
  /** Digest of the built manifests (the history key) and when the reconcile started. */
  checksum?: string;
  startedAt: number;
}

function runOf(scope: Scope, deps: KustomizationDeps): Run {
  const existing = scope.facts.kustomization as Run | undefined;
  if (existing !== undefined) return existing;
  const object = scope.object as unknown as KustomizationObject;
  const inventory = object.status?.inventory?.entries;
  const run: Run = {
    startedAt: scope.now().getTime(),
    spec: readSpec(object),
    options: { ...DEFAULTS, ...(deps.options ?? {}) },
    previousInventory: (Array.isArray(inventory) ? inventory : []).filter(
      (entry) => typeof entry?.id === 'string' && typeof entry.v === 'string' && decodeId(entry.id) !== undefined,
    ),
  };
  scope.facts.kustomization = run;
  return run;
}

const fields = (scope: Scope): Partial<Record<keyof StatusFields, unknown>> => scope.status;

/** kustomize-controller records every attempt that got as far as a build in `status.history`. */
function recordHistory(scope: Scope, run: Run, status: string): void {
  if (run.checksum === undefined || run.source === undefined) return;
  const metadata: Record<string, string> = {
    revision: run.source.revision,
    ...(run.source.originRevision === undefined ? {} : { originRevision: run.source.originRevision }),
  };
  const previous = (scope.object.status as KustomizationStatus | undefined)?.history;
  const at = scope.now();
  fields(scope).history = upsertHistory(previous, {
    digest: run.checksum,
    at,
    durationMs: at.getTime() - run.startedAt,
    status,
    metadata,
  });
}

/** Ready=False with Flux's reason and the error's message, and a `fail` the summarizer reads the same way. */
function fail(
  scope: Scope,
  reason: string,
  error: PinwardenError,
  requeueAfterMs: number | undefined,
  stalled = false,
): StepResult {
  scope.conditions.markFalse(CONDITION.ready, reason, error.message);
  if (stalled) return { kind: 'fail', error, stalled: true };
  return { kind: 'fail', error, ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }) };
}

function err(code: ErrorCode, message: string): PinwardenError {
  return new PinwardenError(code, message);
}

function withTimeout(run: Run, what: string): string {
  return `${what} for revision ${run.source?.revision ?? ''} with a timeout of ${formatGoDuration(run.spec.timeoutMs)}`;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** The steps, in kustomize-controller's order. */
export function kustomizationSteps(deps: KustomizationDeps): ReconcileStep[] {
  const now = (): number => (deps.now === undefined ? Date.now() : deps.now().getTime());
  return [
    async function validate(scope) {
      const run = runOf(scope, deps);
      const requested = run.spec.annotations[RECONCILE_REQUEST_ANNOTATION];
      if (typeof requested === 'string') fields(scope).lastHandledReconcileAt = requested;
      const problems = [...run.spec.problems];
      if (run.spec.unsupported.length > 0)
        problems.push(
          `${run.spec.unsupported.join(', ')} need a kustomize build: pinwarden applies plain manifests only; render them in CI and push the output`,
        );
      if (problems.length > 0)
        return fail(scope, REASONS.buildFailed, err('PW_BUILD_FAILED', problems.join('; ')), run.spec.retryIntervalMs);
      return CONTINUE;
    },

    async function source(scope) {
      const run = runOf(scope, deps);
      const ref = run.spec.sourceRef;
      const label = `${ref.kind}/${ref.namespace}/${ref.name}`;
      if (ref.kind !== 'OCIRepository') {
        return fail(
          scope,
          REASONS.artifactFailed,
          err(
            'PW_ARTIFACT_FAILED',
            `Source '${label}' is not supported: pinwarden reconciles Kustomizations whose sourceRef.kind is OCIRepository`,
          ),
          run.spec.retryIntervalMs,
        );
      }
      if (run.options.noCrossNamespaceRefs && ref.namespace !== run.spec.namespace) {
        const error = err('PW_ACCESS_DENIED', `cannot access ${label}, cross-namespace references have been blocked`);
        return fail(scope, REASONS.accessDenied, error, undefined, true);
      }
      let found;
      try {
        found = await deps.client.get({
          apiVersion: ref.apiVersion ?? SOURCE_API_VERSION,
          kind: 'OCIRepository',
          namespace: ref.namespace,
          name: ref.name,
        });
      } catch (error) {
        return fail(
          scope,
          REASONS.artifactFailed,
          err('PW_ARTIFACT_FAILED', `unable to get source '${label}': ${toPinwardenError(error).message}`),
          run.spec.retryIntervalMs,
        );
      }
      if (found === undefined)
        return fail(
          scope,
          REASONS.artifactFailed,
          err('PW_ARTIFACT_FAILED', `Source '${label}' not found`),
          run.spec.retryIntervalMs,
        );
      const artifact = record(record(found.status).artifact);
      const revision = typeof artifact.revision === 'string' ? artifact.revision : undefined;
      const digest = typeof artifact.digest === 'string' ? artifact.digest : undefined;
      if (revision === undefined || digest === undefined) {
        return fail(
          scope,
          REASONS.artifactFailed,
          err(
            'PW_ARTIFACT_FAILED',
            `Source artifact not found, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}`,
          ),
          run.options.requeueDependencyMs,
        );
      }
      const origin = record(artifact.metadata)[ORIGIN_REVISION_KEY];
      run.source = { revision, digest, ...(typeof origin === 'string' ? { originRevision: origin } : {}) };
      return CONTINUE;
    },

    async function dependencies(scope) {
      const run = runOf(scope, deps);
      for (const [index, dep] of run.spec.dependsOn.entries()) {
        if (dep.readyExpr !== undefined) {
          return fail(
            scope,
            REASONS.invalidCELExpression,
            err(
              'PW_DEPENDENCY_EXPRESSION',
              `spec.dependsOn[${index}].readyExpr: CEL expressions are not supported by pinwarden`,
            ),
            undefined,
            true,
          );
        }
      }
      for (const dep of run.spec.dependsOn) {
        const name = `${dep.namespace}/${dep.name}`;
        let why: string | undefined;
        try {
          const found = await deps.client.get({
            apiVersion: KUSTOMIZATION_API_VERSION,
            kind: 'Kustomization',
            namespace: dep.namespace,
            name: dep.name,
          });
          if (found === undefined) why = `dependency '${name}' not found`;
          else {
            const status = record(found.status) as KustomizationStatus;
            const conditions = Array.isArray(status.conditions) ? status.conditions : [];
            const depSource = record(record(found.spec).sourceRef);
            const sameSource =
              depSource.name === run.spec.sourceRef.name &&
              depSource.kind === run.spec.sourceRef.kind &&
              (typeof depSource.namespace === 'string' ? depSource.namespace : dep.namespace) ===
                run.spec.sourceRef.namespace;
            if (conditions.length === 0 || record(found.metadata).generation !== status.observedGeneration)
              why = `dependency '${name}' is not ready`;
            else if (!conditions.some((condition) => condition.type === CONDITION.ready && condition.status === 'True'))
              why = `dependency '${name}' is not ready`;
            else if (sameSource && status.lastAppliedRevision !== run.source?.revision)
              why = `dependency '${name}' revision is not up to date`;
          }
        } catch (error) {
          why = `dependency '${name}' not found: ${toPinwardenError(error).message}`;
        }
        if (why !== undefined) {
          scope.events.push({
            type: 'Normal',
            reason: REASONS.dependencyNotReady,
            message: `Dependencies do not meet ready condition, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}`,
          });
          return fail(
            scope,
            REASONS.dependencyNotReady,
            err('PW_DEPENDENCY_NOT_READY', why),
            run.options.requeueDependencyMs,
          );
        }
      }
      return CONTINUE;
    },

    async function artifact(scope) {
      const run = runOf(scope, deps);
      markProgressing(scope.conditions, withTimeout(run, 'Fetching manifests'));
      scope.conditions.markUnknown(CONDITION.ready, REASON.progressing, 'Reconciliation in progress');
      const directory = await deps.artifacts.directoryFor(run.source!.digest);
      if (directory === undefined) {
        return fail(
          scope,
          REASONS.artifactFailed,
          err(
            'PW_ARTIFACT_FAILED',
            `Source is not ready, artifact not found, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}`,
          ),
          run.options.requeueDependencyMs,
        );
      }
      run.directory = directory;
      return CONTINUE;
    },

    async function build(scope) {
      const run = runOf(scope, deps);
      let objects: ManifestObject[];
      try {
        objects = (await readManifests(run.directory!, run.spec.path, run.options.manifestLimits)).map(
          (item) => item.object,
        );
      } catch (error) {
        const problem = toPinwardenError(error, 'PW_BUILD_FAILED');
        return fail(
          scope,
          problem.code === 'PW_ARTIFACT_FAILED' ? REASONS.artifactFailed : REASONS.buildFailed,
          problem,
          run.spec.retryIntervalMs,
        );
      }
      fields(scope).lastAttemptedRevision = run.source!.revision;
      scope.conditions.markTrue(CONDITION.reconciling, REASON.progressing, withTimeout(run, 'Building manifests'));
      run.objects = setTargetNamespace(objects, run.spec.targetNamespace);
      run.checksum = manifestsDigest(run.objects);
      return CONTINUE;
    },

    async function apply(scope) {
      const run = runOf(scope, deps);
      const account = run.spec.serviceAccountName ?? run.options.defaultServiceAccount;
      const serviceAccount = account === undefined ? undefined : { namespace: run.spec.namespace, name: account };
      if (run.spec.kubeConfig !== undefined) {
        // Flux: apply, prune, health checks and wait all go to the remote cluster, as the ServiceAccount there.
        const remote = await remoteClientFor(deps.remote, run.spec, serviceAccount, scope.signal);
        if ('error' in remote) {
          recordHistory(scope, run, remote.error.reason);
          return fail(scope, remote.error.reason, remote.error, run.spec.retryIntervalMs, remote.stalled);
        }
        run.client = remote.client;
      } else run.client = deps.clientFor(serviceAccount);
      scope.conditions.markTrue(CONDITION.reconciling, REASON.progressing, withTimeout(run, 'Detecting drift'));
      try {
        run.applied = await applySet(run.objects!, {
          client: run.client,
          owner: { name: run.spec.name, namespace: run.spec.namespace },
          force: run.spec.force,
          stageIntervalMs: run.options.stageIntervalMs,
          stageTimeoutMs: run.options.stageTimeoutMs,
          signal: scope.signal,
          now,
          ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
        });
      } catch (error) {
        recordHistory(scope, run, REASONS.reconciliationFailed);
        return fail(
          scope,
          REASONS.reconciliationFailed,
          toPinwardenError(error, 'PW_APPLY_FAILED'),
          run.spec.retryIntervalMs,
        );
      }
      const changed = run.applied.entries.filter(
        (entry) => entry.action === 'created' || entry.action === 'configured',
      );
      if (changed.length > 0)
        scope.events.push({
          type: 'Normal',
          reason: REASON.progressing,
          message: lines(changed.map((entry) => `${entry.subject} ${entry.action}`)),
        });
      // Flux sets the new inventory before pruning.
      fields(scope).inventory = { entries: run.applied.inventory };
      return CONTINUE;
    },

    async function pruneStale(scope) {
      const run = runOf(scope, deps);
      if (!run.spec.prune) return CONTINUE;
      const result = await prune(
        run.client!,
        { name: run.spec.name, namespace: run.spec.namespace },
        run.previousInventory,
        run.applied!.inventory,
      );
      fields(scope).inventory = { entries: result.inventory };
      const deleted = result.entries.filter((entry) => entry.action === 'deleted');
      if (deleted.length > 0)
        scope.events.push({
          type: 'Normal',
          reason: REASON.progressing,
          message: `garbage collection completed: ${lines(deleted.map((entry) => `${entry.subject} deleted`))}`,
        });
      if (result.error !== undefined) {
        recordHistory(scope, run, REASONS.pruneFailed);
        return fail(scope, REASONS.pruneFailed, result.error, run.spec.retryIntervalMs);
      }
      return CONTINUE;
    },

    async function health(scope) {
      const run = runOf(scope, deps);
      const self = (id: { group: string; kind: string; namespace: string; name: string }): boolean =>
        id.group === RESOURCES.kustomization.group &&
        id.kind === 'Kustomization' &&
        id.namespace === run.spec.namespace &&
        id.name === run.spec.name;
      let targets: WaitTarget[];
      if (run.spec.wait) {
        targets = run
          .applied!.entries.filter((entry) => entry.action !== 'skipped')
          .map((entry) => ({ id: entry.id, version: entry.version }));
      } else if (run.spec.healthChecks.length > 0) {
        targets = run.spec.healthChecks.map((ref) => {
          const { group, version } = splitApiVersion(ref.apiVersion);
          return { id: { group, kind: ref.kind, name: ref.name, namespace: ref.namespace }, version };
        });
      } else {
        scope.conditions.delete(CONDITION.healthy);
        return CONTINUE;
      }
      targets = targets.filter((target) => !self(target.id));
      const message = withTimeout(run, 'Running health checks');
      scope.conditions.markTrue(CONDITION.reconciling, REASON.progressing, message);
      scope.conditions.markUnknown(CONDITION.healthy, REASON.progressing, message);
      const result = await waitForCurrent(run.client!, targets, {
        timeoutMs: run.spec.timeoutMs,
        intervalMs: run.options.healthIntervalMs,
        now,
        signal: scope.signal,
        ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
      });
      if (!result.ok) {
        scope.conditions.markFalse(CONDITION.healthy, REASONS.healthCheckFailed, result.message);
        recordHistory(scope, run, REASONS.healthCheckFailed);
        return fail(
          scope,
          REASONS.healthCheckFailed,
          err(
            'PW_HEALTH_CHECK_FAILED',
            `health check failed after ${formatGoDuration(result.elapsedMs)}: ${result.message}`,
          ),
          run.spec.retryIntervalMs,
        );
      }
      const previous = scope.object.status as KustomizationStatus | undefined;
      const wasUnhealthy =
        previous?.conditions?.some(
          (condition) => condition.type === CONDITION.healthy && condition.status === 'False',
        ) === true;
      const passed = `Health check passed in ${formatGoDuration(result.elapsedMs)}`;
      scope.conditions.markTrue(CONDITION.healthy, REASON.succeeded, passed);
      if (wasUnhealthy || previous?.lastAppliedRevision !== run.source!.revision)
        scope.events.push({ type: 'Normal', reason: REASON.succeeded, message: passed });
      return CONTINUE;
    },

    async function ready(scope) {
      const run = runOf(scope, deps);
      fields(scope).lastAppliedRevision = run.source!.revision;
      fields(scope).lastAppliedOriginRevision = run.source!.originRevision ?? null;
      recordHistory(scope, run, REASONS.reconciliationSucceeded);
      scope.conditions.markTrue(
        CONDITION.ready,
        REASONS.reconciliationSucceeded,
        `Applied revision: ${run.source!.revision}`,
      );
      return { kind: 'done' };
    },
  ];
}

export type ReconcileResult = 'succeeded' | 'failed' | 'suspended' | 'dependency-not-ready' | 'stalled';

export interface ReconcileOutcome {
  result: ReconcileResult;
  /** The whole status after this reconcile (the previous one with this reconcile's fields and conditions). */
  status: KustomizationStatus;
  /** When to run again (0: only on a change). */
  requeueAfterMs: number;
  error?: PinwardenError;
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
}

/**
 * One reconcile without the manager (tests, one-shot runs): the same steps and the runtime's summarizer; the
 * caller writes `status`. `reconcile` of the KindController below is the same with the status writer.
 */
export async function reconcileKustomization(
  object: KustomizationObject,
  deps: KustomizationDeps,
): Promise<ReconcileOutcome> {
  const spec = readSpec(object);
  const previous = object.status ?? {};
  if (spec.suspend) return { result: 'suspended', status: previous, requeueAfterMs: 0, events: [] };
  const now = deps.now ?? (() => new Date());
  const kubeObject = object as unknown as KubeObject;
  const scope: Scope = {
    object: kubeObject,
    conditions: conditionsOf(kubeObject, now),
    status: {},
    events: [],
    signal: new AbortController().signal,
    now,
    facts: {},
  };
  const previousReady = conditionsOf(kubeObject, now).get(CONDITION.ready);
  const result = await runSteps(kustomizationSteps(deps), scope);
  const summary = summarize({
    scope,
    result,
    rules: KUSTOMIZATION_RULES,
    intervalMs: spec.intervalMs,
    ...(previousReady === undefined ? {} : { previousReady }),
  });
  const status: KustomizationStatus = { ...previous };
  for (const [key, value] of Object.entries(scope.status)) {
    if (value === null) delete status[key];
    else status[key] = value;
  }
  status.conditions = summary.conditions.list();
  if (summary.observeGeneration && spec.generation !== undefined) status.observedGeneration = spec.generation;
  const requeue = summary.requeue;
  return {
    result: outcomeOf(result),
    status,
    requeueAfterMs:
      'afterMs' in requeue ? requeue.afterMs : 'minMs' in requeue ? Math.max(requeue.minMs, spec.retryIntervalMs) : 0,
    ...(result.kind === 'fail' ? { error: result.error } : {}),
    events: summary.events,
  };
}

function outcomeOf(result: StepResult): ReconcileResult {
  if (result.kind !== 'fail') return 'succeeded';
  if (result.stalled === true) return 'stalled';
  return result.error.code === 'PW_DEPENDENCY_NOT_READY' ? 'dependency-not-ready' : 'failed';
}

/** The finalizer is removed once deletion has done what the policy says (finalize.ts). */
export interface KustomizationControllerOptions extends KustomizationDeps, ReconcilerWriters {
  random?: () => number;
  /** WaitForTermination polling (Flux: 2 s). */
  terminationIntervalMs?: number;
}

/** The Kustomization reconciler for the runtime's manager: watched, queued, its status written by the runtime. */
export function createKustomizationController(options: KustomizationControllerOptions): KindController {
  const steps = kustomizationSteps(options);
  return {
    resource: RESOURCES.kustomization,
    sourceOf(object) {
      const spec = readSpec(object as unknown as KustomizationObject);
      return spec.sourceRef.kind === 'OCIRepository' && spec.sourceRef.name !== ''
        ? { kind: 'OCIRepository', namespace: spec.sourceRef.namespace, name: spec.sourceRef.name }
        : undefined;
    },
    deadlineMs(object) {
      const spec = readSpec(object as unknown as KustomizationObject);
      // Build, apply (with its definitions stage wait) and health checks all fit in spec.timeout, as in Flux.
      return spec.timeoutMs + (options.options?.stageTimeoutMs ?? DEFAULTS.stageTimeoutMs) + 30_000;
    },
    async reconcile({ object, signal, stopping }): Promise<ReconcileAnswer> {
      // kustomize-controller's prelude: deletion first, then the finalizer (and a requeue), then suspend.
      if (isDeleting(object)) {
        const finalized = await finalizeKustomization(
          object,
          {
            client: options.client,
            clientFor: (account) => options.clientFor(account),
            finalizers: options.finalizers,
            events: options.events,
            ...(options.remote === undefined ? {} : { remote: options.remote }),
            ...(options.options?.defaultServiceAccount === undefined
              ? {}
              : { defaultServiceAccount: options.options.defaultServiceAccount }),
            ...(options.terminationIntervalMs === undefined
              ? {}
              : { terminationIntervalMs: options.terminationIntervalMs }),
            ...(options.now === undefined ? {} : { now: options.now }),
            ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
          },
          signal,
        );
        if (finalized.result === 'failed')
          return {
            result: 'failure',
            requeue: { rateLimited: true, minMs: 0 },
            ...(finalized.error === undefined ? {} : { error: finalized.error }),
          };
        return { result: 'success', requeue: { never: true } };
      }
      if (!hasFinalizer(object, options.finalizers.name)) {
        const added = await options.finalizers.add(object, signal);
        if (added.gone) return { result: 'success', requeue: { never: true } };
        if (added.written) return { result: 'success', requeue: { afterMs: 0 } };
        // The live object had it already (the cache was behind): go on.
      }
      const spec = readSpec(object as unknown as KustomizationObject);
      if (spec.suspend) return { result: 'success', requeue: { never: true } };
      const outcome = await drive({
        object,
        steps,
        rules: KUSTOMIZATION_RULES,
        intervalMs: jittered(spec.intervalMs, 0.1, options.random),
        status: options.status,
        events: options.events,
        signal,
        stopping,
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      return answerOf(outcome);
    },
  };
}
