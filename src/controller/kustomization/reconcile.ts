/**
 * The Kustomization reconciler, as kustomize-controller's `Reconcile` + `reconcile` do it, written as
 * ordered steps with one signature (`Step`): suspend → source → dependencies → artifact → build →
 * apply → prune → health → ready. Each step reads and writes the run's state and either continues or
 * ends the reconcile with a requeue. The status is produced exactly as Flux writes it (conditions
 * Ready / Reconciling / Healthy / Stalled with Flux's reasons and messages, lastAttemptedRevision,
 * lastAppliedRevision, lastAppliedOriginRevision, inventory, observedGeneration); writing it is the
 * caller's job (`progress` is called where Flux patches mid-reconcile).
 */
import { formatGoDuration } from '../../core/duration.ts';
import { PinwardenError, toPinwardenError } from '../../core/errors.ts';
import type { ObjectClient } from '../../kube/index.ts';
import { applySet, decodeId, prune, readManifests, setTargetNamespace, splitApiVersion, waitForCurrent } from '../apply/index.ts';
import type { ApplyResult, InventoryEntry, KubeObject, ManifestLimits, WaitTarget } from '../apply/index.ts';
import { Conditions, HEALTHY, READY, REASONS, RECONCILING, STALLED } from './conditions.ts';
import { readSpec } from './spec.ts';
import type { KustomizationObject, KustomizationSpecView, KustomizationStatus } from './spec.ts';

export const SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';
export const KUSTOMIZATION_API_VERSION = 'kustomize.toolkit.fluxcd.io/v1';
export const RECONCILE_REQUEST_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';
const ORIGIN_REVISION_KEY = 'org.opencontainers.image.revision';

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
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Called where kustomize-controller patches the status mid-reconcile (progress messages). */
  progress?: (status: KustomizationStatus) => Promise<void>;
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

const DEFAULTS: KustomizationOptions = { requeueDependencyMs: 30_000, noCrossNamespaceRefs: false, healthIntervalMs: 5_000, stageIntervalMs: 2_000, stageTimeoutMs: 60_000 };

export type ReconcileResult = 'succeeded' | 'failed' | 'suspended' | 'dependency-not-ready' | 'stalled';

export interface ReconcileEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ReconcileOutcome {
  result: ReconcileResult;
  status: KustomizationStatus;
  /** When to run again (the controller adds jitter to the interval on success). */
  requeueAfterMs: number;
  error?: PinwardenError;
  events: ReconcileEvent[];
  /** What the apply did, for logs and events. */
  changes?: ApplyResult['entries'];
}

/** The state one reconcile carries from step to step. */
export interface Run {
  readonly object: KustomizationObject;
  readonly spec: KustomizationSpecView;
  readonly deps: KustomizationDeps;
  readonly options: KustomizationOptions;
  readonly conditions: Conditions;
  readonly status: KustomizationStatus;
  readonly now: () => Date;
  readonly events: ReconcileEvent[];
  source?: { revision: string; digest: string; originRevision?: string };
  directory?: string;
  objects?: KubeObject[];
  client?: ObjectClient;
  applied?: ApplyResult;
  previousInventory: InventoryEntry[];
}

export type StepResult = { next: true } | { next: false; result: ReconcileResult; requeueAfterMs: number; error?: PinwardenError };
export type Step = (run: Run) => Promise<StepResult>;

const next: StepResult = { next: true };
const retry = (run: Run, result: ReconcileResult, error?: PinwardenError): StepResult => ({ next: false, result, requeueAfterMs: run.spec.retryIntervalMs, ...(error === undefined ? {} : { error }) });

function fail(run: Run, reason: string, error: PinwardenError, result: ReconcileResult = 'failed'): StepResult {
  run.conditions.set(READY, 'False', reason, error.message);
  run.events.push({ type: 'Warning', reason, message: error.message });
  return retry(run, result, error);
}

function withTimeout(run: Run, what: string): string {
  return `${what} for revision ${run.source?.revision ?? ''} with a timeout of ${formatGoDuration(run.spec.timeoutMs)}`;
}

async function progress(run: Run, message: string): Promise<void> {
  run.conditions.set(RECONCILING, 'True', REASONS.progressing, message);
  await run.deps.progress?.(snapshot(run));
}

function snapshot(run: Run): KustomizationStatus {
  return { ...run.status, conditions: run.conditions.toArray() };
}

const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

// ---- steps ---------------------------------------------------------------------------------------

/** Flux returns right away for a suspended object, conditions untouched. */
export const suspendStep: Step = async (run) => (run.spec.suspend ? { next: false, result: 'suspended', requeueAfterMs: 0 } : next);

/** Spec problems pinwarden can never get past until the spec changes. */
export const validateStep: Step = async (run) => {
  const problems = [...run.spec.problems];
  if (run.spec.unsupported.length > 0) {
    problems.push(`${run.spec.unsupported.join(', ')} need a kustomize build: pinwarden applies plain manifests only; render them in CI and push the output`);
    const error = new PinwardenError('PW_BUILD_FAILED', problems.join('; '));
    return fail(run, REASONS.buildFailed, error);
  }
  if (problems.length > 0) return fail(run, REASONS.buildFailed, new PinwardenError('PW_BUILD_FAILED', problems.join('; ')));
  return next;
};

export const sourceStep: Step = async (run) => {
  const ref = run.spec.sourceRef;
  const label = `${ref.kind}/${ref.namespace}/${ref.name}`;
  if (ref.kind !== 'OCIRepository') {
    return fail(run, REASONS.artifactFailed, new PinwardenError('PW_ARTIFACT_FAILED', `Source '${label}' is not supported: pinwarden reconciles Kustomizations whose sourceRef.kind is OCIRepository`));
  }
  if (run.options.noCrossNamespaceRefs && ref.namespace !== run.spec.namespace) {
    const error = new PinwardenError('PW_ARTIFACT_FAILED', `cannot access ${label}, cross-namespace references have been blocked`);
    run.conditions.set(STALLED, 'True', REASONS.accessDenied, error.message);
    return fail(run, REASONS.accessDenied, error, 'stalled');
  }
  let source;
  try {
    source = await run.deps.client.get({ apiVersion: ref.apiVersion ?? SOURCE_API_VERSION, kind: 'OCIRepository', namespace: ref.namespace, name: ref.name });
  } catch (error) {
    return fail(run, REASONS.artifactFailed, new PinwardenError('PW_ARTIFACT_FAILED', `unable to get source '${label}': ${toPinwardenError(error).message}`));
  }
  if (source === undefined) {
    return fail(run, REASONS.artifactFailed, new PinwardenError('PW_ARTIFACT_FAILED', `Source '${label}' not found`));
  }
  const artifact = record(record(source.status).artifact);
  const revision = typeof artifact.revision === 'string' ? artifact.revision : undefined;
  const digest = typeof artifact.digest === 'string' ? artifact.digest : undefined;
  if (revision === undefined || digest === undefined) {
    const error = new PinwardenError('PW_ARTIFACT_FAILED', `Source artifact not found, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}`);
    run.conditions.set(READY, 'False', REASONS.artifactFailed, error.message);
    return { next: false, result: 'failed', requeueAfterMs: run.options.requeueDependencyMs, error };
  }
  const origin = record(artifact.metadata)[ORIGIN_REVISION_KEY];
  run.source = { revision, digest, ...(typeof origin === 'string' ? { originRevision: origin } : {}) };
  return next;
};

export const dependenciesStep: Step = async (run) => {
  for (const [index, dep] of run.spec.dependsOn.entries()) {
    if (dep.readyExpr !== undefined) {
      const error = new PinwardenError('PW_DEPENDENCY_NOT_READY', `spec.dependsOn[${index}].readyExpr: CEL expressions are not supported by pinwarden`);
      run.conditions.set(STALLED, 'True', REASONS.invalidCELExpression, error.message);
      return fail(run, REASONS.invalidCELExpression, error, 'stalled');
    }
  }
  for (const dep of run.spec.dependsOn) {
    const name = `${dep.namespace}/${dep.name}`;
    let why: string | undefined;
    try {
      const found = await run.deps.client.get({ apiVersion: KUSTOMIZATION_API_VERSION, kind: 'Kustomization', namespace: dep.namespace, name: dep.name });
      if (found === undefined) why = `dependency '${name}' not found`;
      else {
        const status = record(found.status) as KustomizationStatus;
        const conditions = Array.isArray(status.conditions) ? status.conditions : [];
        const generation = record(found.metadata).generation;
        const depSpec = record(found.spec);
        const depSource = record(depSpec.sourceRef);
        if (conditions.length === 0 || generation !== status.observedGeneration) why = `dependency '${name}' is not ready`;
        else if (!conditions.some((condition) => condition.type === READY && condition.status === 'True')) why = `dependency '${name}' is not ready`;
        else if (depSource.name === run.spec.sourceRef.name && (typeof depSource.namespace === 'string' ? depSource.namespace : dep.namespace) === run.spec.sourceRef.namespace
          && depSource.kind === run.spec.sourceRef.kind && status.lastAppliedRevision !== run.source?.revision) why = `dependency '${name}' revision is not up to date`;
      }
    } catch (error) {
      why = `dependency '${name}' not found: ${toPinwardenError(error).message}`;
    }
    if (why !== undefined) {
      const error = new PinwardenError('PW_DEPENDENCY_NOT_READY', why);
      run.conditions.set(READY, 'False', REASONS.dependencyNotReady, why);
      run.events.push({ type: 'Normal', reason: REASONS.dependencyNotReady, message: `Dependencies do not meet ready condition, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}` });
      return { next: false, result: 'dependency-not-ready', requeueAfterMs: run.options.requeueDependencyMs, error };
    }
  }
  return next;
};

export const artifactStep: Step = async (run) => {
  run.conditions.set(READY, 'Unknown', REASONS.progressing, 'Reconciliation in progress');
  await progress(run, withTimeout(run, 'Fetching manifests'));
  const directory = await run.deps.artifacts.directoryFor(run.source!.digest);
  if (directory === undefined) {
    const error = new PinwardenError('PW_ARTIFACT_FAILED', `Source is not ready, artifact not found, retrying in ${formatGoDuration(run.options.requeueDependencyMs)}`);
    run.conditions.set(READY, 'False', REASONS.artifactFailed, error.message);
    return { next: false, result: 'failed', requeueAfterMs: run.options.requeueDependencyMs, error };
  }
  run.directory = directory;
  return next;
};

export const buildStep: Step = async (run) => {
  let objects: KubeObject[];
  try {
    const read = await readManifests(run.directory!, run.spec.path, run.options.manifestLimits);
    objects = read.map((item) => item.object);
  } catch (error) {
    const problem = toPinwardenError(error, 'PW_BUILD_FAILED');
    return fail(run, problem.code === 'PW_ARTIFACT_FAILED' ? REASONS.artifactFailed : REASONS.buildFailed, problem);
  }
  run.status.lastAttemptedRevision = run.source!.revision;
  await progress(run, withTimeout(run, 'Building manifests'));
  run.objects = setTargetNamespace(objects, run.spec.targetNamespace);
  return next;
};

export const applyStep: Step = async (run) => {
  const account = run.spec.serviceAccountName ?? run.options.defaultServiceAccount;
  run.client = run.deps.clientFor(account === undefined ? undefined : { namespace: run.spec.namespace, name: account });
  await progress(run, withTimeout(run, 'Detecting drift'));
  try {
    run.applied = await applySet(run.objects!, {
      client: run.client,
      owner: { name: run.spec.name, namespace: run.spec.namespace },
      force: run.spec.force,
      stageIntervalMs: run.options.stageIntervalMs,
      stageTimeoutMs: run.options.stageTimeoutMs,
      ...(run.deps.sleep === undefined ? {} : { sleep: run.deps.sleep }),
      ...(run.deps.now === undefined ? {} : { now: () => run.deps.now!().getTime() }),
    });
  } catch (error) {
    return fail(run, REASONS.reconciliationFailed, toPinwardenError(error, 'PW_APPLY_FAILED'));
  }
  const changed = run.applied.entries.filter((entry) => entry.action === 'created' || entry.action === 'configured');
  if (changed.length > 0) run.events.push({ type: 'Normal', reason: 'Progressing', message: changed.map((entry) => `${entry.subject} ${entry.action}`).join('\n') });
  // Flux sets the new inventory before pruning.
  run.status.inventory = { entries: run.applied.inventory };
  return next;
};

export const pruneStep: Step = async (run) => {
  if (!run.spec.prune) return next;
  const result = await prune(run.client!, { name: run.spec.name, namespace: run.spec.namespace }, run.previousInventory, run.applied!.inventory);
  run.status.inventory = { entries: result.inventory };
  const deleted = result.entries.filter((entry) => entry.action === 'deleted');
  if (deleted.length > 0) run.events.push({ type: 'Normal', reason: 'Progressing', message: `garbage collection completed: ${deleted.map((entry) => `${entry.subject} deleted`).join('\n')}` });
  if (result.error !== undefined) return fail(run, REASONS.pruneFailed, result.error);
  return next;
};

export const healthStep: Step = async (run) => {
  const self = (id: { group: string; kind: string; namespace: string; name: string }): boolean =>
    id.group === 'kustomize.toolkit.fluxcd.io' && id.kind === 'Kustomization' && id.namespace === run.spec.namespace && id.name === run.spec.name;
  let targets: WaitTarget[];
  if (run.spec.wait) {
    const skipped = new Set(run.applied!.entries.filter((entry) => entry.action === 'skipped').map((entry) => entry.subject));
    targets = run.applied!.entries.filter((entry) => !skipped.has(entry.subject)).map((entry) => ({ id: entry.id, version: entry.version }));
  } else if (run.spec.healthChecks.length > 0) {
    targets = run.spec.healthChecks.map((ref) => {
      const { group, version } = splitApiVersion(ref.apiVersion);
      return { id: { group, kind: ref.kind, name: ref.name, namespace: ref.namespace }, version };
    });
  } else {
    run.conditions.delete(HEALTHY);
    return next;
  }
  targets = targets.filter((target) => !self(target.id));
  const message = withTimeout(run, 'Running health checks');
  run.conditions.set(HEALTHY, 'Unknown', REASONS.progressing, message);
  await progress(run, message);
  const now = run.deps.now === undefined ? Date.now : () => run.deps.now!().getTime();
  const result = await waitForCurrent(run.client!, targets, { timeoutMs: run.spec.timeoutMs, intervalMs: run.options.healthIntervalMs, now, ...(run.deps.sleep === undefined ? {} : { sleep: run.deps.sleep }) });
  if (!result.ok) {
    run.conditions.set(HEALTHY, 'False', REASONS.healthCheckFailed, result.message);
    return fail(run, REASONS.healthCheckFailed, new PinwardenError('PW_HEALTH_CHECK_FAILED', `health check failed after ${formatGoDuration(result.elapsedMs)}: ${result.message}`));
  }
  const wasUnhealthy = run.object.status?.conditions?.some((condition) => condition.type === HEALTHY && condition.status === 'False') === true;
  const passed = `Health check passed in ${formatGoDuration(result.elapsedMs)}`;
  run.conditions.set(HEALTHY, 'True', REASONS.succeeded, passed);
  if (wasUnhealthy || run.object.status?.lastAppliedRevision !== run.source!.revision) run.events.push({ type: 'Normal', reason: REASONS.succeeded, message: passed });
  return next;
};

export const readyStep: Step = async (run) => {
  run.status.lastAppliedRevision = run.source!.revision;
  if (run.source!.originRevision !== undefined) run.status.lastAppliedOriginRevision = run.source!.originRevision;
  else delete run.status.lastAppliedOriginRevision;
  run.conditions.set(READY, 'True', REASONS.reconciliationSucceeded, `Applied revision: ${run.source!.revision}`);
  return { next: false, result: 'succeeded', requeueAfterMs: run.spec.intervalMs };
};

export const STEPS: readonly Step[] = [suspendStep, validateStep, sourceStep, dependenciesStep, artifactStep, buildStep, applyStep, pruneStep, healthStep, readyStep];

/** One reconcile of one Kustomization. Never throws: every failure is a status. */
export async function reconcileKustomization(object: KustomizationObject, deps: KustomizationDeps, steps: readonly Step[] = STEPS): Promise<ReconcileOutcome> {
  const now = deps.now ?? (() => new Date());
  const spec = readSpec(object);
  const previous = object.status ?? {};
  const status: KustomizationStatus = { ...previous };
  const run: Run = {
    object,
    spec,
    deps,
    options: { ...DEFAULTS, ...(deps.options ?? {}) },
    conditions: new Conditions(previous.conditions, spec.generation, now),
    status,
    now,
    events: [],
    previousInventory: (previous.inventory?.entries ?? []).filter((entry) => typeof entry?.id === 'string' && decodeId(entry.id) !== undefined),
  };
  let end: Extract<StepResult, { next: false }> = { next: false, result: 'failed', requeueAfterMs: spec.retryIntervalMs };
  for (const step of steps) {
    let outcome: StepResult;
    try {
      outcome = await step(run);
    } catch (error) {
      outcome = fail(run, REASONS.reconciliationFailed, toPinwardenError(error));
    }
    if (!outcome.next) {
      end = outcome;
      break;
    }
  }
  if (end.result === 'suspended') return { result: 'suspended', status: previous, requeueAfterMs: 0, events: [] };
  finalize(run);
  return {
    result: end.result,
    status: snapshot(run),
    requeueAfterMs: end.requeueAfterMs,
    ...(end.error === undefined ? {} : { error: end.error }),
    events: run.events,
    ...(run.applied === undefined ? {} : { changes: run.applied.entries }),
  };
}

/** kustomize-controller `finalizeStatus`. */
function finalize(run: Run): void {
  const requested = run.spec.annotations[RECONCILE_REQUEST_ANNOTATION];
  if (typeof requested === 'string') run.status.lastHandledReconcileAt = requested;
  if (run.conditions.is(READY, 'True')) {
    run.conditions.delete(RECONCILING);
    run.conditions.delete(STALLED);
    if (run.spec.generation !== undefined) run.status.observedGeneration = run.spec.generation;
  }
  const reconciling = run.conditions.get(RECONCILING);
  if (run.conditions.is(READY, 'False') && reconciling !== undefined) {
    run.conditions.set(RECONCILING, reconciling.status, REASONS.progressingWithRetry, reconciling.message);
  }
}
