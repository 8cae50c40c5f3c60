/**
 * The OCIRepository reconciler, step by step as source-controller does it (flux-api.md §2–§3,
 * control-plane-and-apply.md §2.11), on the runtime's one reconcile shape:
 *
 *   progressing → policy → url → resolve (one HEAD; unchanged, verified and stored: stop) → verify → pull
 *
 * - the tenant's object is untrusted: the same policy `evaluate` as the webhook runs on it before any
 *   registry is contacted (a denial stalls it until the spec or the policy changes); registry access goes
 *   through flows' pin resolver (Secrets, TLS, the policy's network guard);
 * - precedence digest > semver (+ semverFilter) > tag > `latest`; revision `tag@sha256:…`, or `sha256:…` for a
 *   digest ref, keeping the tag the webhook pinned from (`pinwarden.dev/pinned-from`);
 * - verification (flows' verifier: the policy's trusted keys and roots, commit binding) happens before the
 *   pull, and a failure leaves the previous artifact stored and served;
 * - the artifact is fetched by digest, digest-checked and extracted by the pull flow into the store;
 * - before the steps, source-controller's prelude: an object being deleted has its artifact dropped from the
 *   store (unless another OCIRepository names the same one) and pinwarden's finalizer removed; an object
 *   without the finalizer gets it (a metadata-only patch) and is requeued; a suspended one stops there.
 */
import { createHash } from 'node:crypto';
import { ERRORS, PinwardenError, toPinwardenError } from '../../core/errors.ts';
import { evaluate } from '../../core/evaluate.ts';
import { parseGoDurationMs } from '../../core/duration.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import type { AdmissionVerifier, PinResolver } from '../../flows/index.ts';
import type { KubeObject } from '../../kube/index.ts';
import { RESOURCES } from '../../kube/index.ts';
import { compileTagFilter, highestMatchingTag, parseRepositoryUrl, parseSemverConstraint } from '../../oci/index.ts';
import type { Call, Descriptor, Repository } from '../../oci/index.ts';
import {
  CONDITION,
  CONTINUE,
  REASON,
  answerOf,
  drive,
  hasFinalizer,
  isDeleting,
  jittered,
  markProgressing,
} from '../runtime/index.ts';
import type {
  KindController,
  ReconcileAnswer,
  ReconcileScope,
  ReconcileStep,
  ReconcilerWriters,
  SummaryRules,
} from '../runtime/index.ts';
import type { ArtifactStore, StoredArtifact } from './store.ts';

export const PINNED_FROM = 'pinwarden.dev/pinned-from';

/** Flux's OCIRepository Ready summary (SC `ociRepositoryReadyCondition`). */
export const OCI_RULES: SummaryRules = {
  summarize: [
    CONDITION.storageOperationFailed,
    CONDITION.fetchFailed,
    CONDITION.artifactOutdated,
    CONDITION.artifactInStorage,
    CONDITION.sourceVerified,
    CONDITION.stalled,
    CONDITION.reconciling,
  ],
  negativePolarity: [
    CONDITION.storageOperationFailed,
    CONDITION.fetchFailed,
    CONDITION.artifactOutdated,
    CONDITION.stalled,
    CONDITION.reconciling,
  ],
  owned: [
    CONDITION.ready,
    CONDITION.reconciling,
    CONDITION.stalled,
    CONDITION.artifactInStorage,
    CONDITION.artifactOutdated,
    CONDITION.sourceVerified,
    CONDITION.fetchFailed,
    CONDITION.storageOperationFailed,
  ],
  readyFromError: true,
};

export interface PulledArtifact {
  /** The manifest's annotations (→ status.artifact.metadata). */
  annotations: Record<string, string>;
  /** The layer that was extracted (or copied). */
  layer: Descriptor;
  warnings: string[];
}

export interface PullRequest {
  repository: Repository;
  /** The manifest digest the revision names: everything is fetched by it. */
  digest: string;
  layerSelector: { mediaType?: string; operation: 'extract' | 'copy' };
  /** Absent directory (its parent exists) the content goes into. */
  destination: string;
  call: Call;
}

/** Fetch (digest- and size-checked) and extract: the pull flow `pinwarden pull` uses too. */
export type ArtifactPuller = (request: PullRequest) => Promise<PulledArtifact>;

/** The finalizer is removed once the artifact is dropped. */
export interface OciRepositoryReconcilerOptions extends ReconcilerWriters {
  store: ArtifactStore;
  pins: PinResolver;
  verifier: AdmissionVerifier;
  pull: ArtifactPuller;
  policy: () => SourcePolicy;
  now?: () => Date;
  random?: () => number;
}

interface ArtifactStatus {
  revision: string;
  digest: string;
  path: string;
  url: string;
  size: number;
  lastUpdateTime: string;
  metadata?: Record<string, string>;
}

interface Facts {
  url: string;
  repository?: Repository;
  reference: string;
  tag?: string;
  descriptor?: Descriptor;
  revision?: string;
  call: Call;
}

export function createOciRepositoryController(options: OciRepositoryReconcilerOptions): KindController {
  const now = options.now ?? (() => new Date());

  const steps: Array<ReconcileStep> = [
    async function progressing(scope) {
      const generation = scope.object.metadata.generation ?? 0;
      const observed = statusOf(scope.object).observedGeneration;
      if (observed !== generation)
        markProgressing(
          scope.conditions,
          `processing object: new generation ${typeof observed === 'number' ? observed : -1} -> ${generation}`,
        );
      // A failed verification is recomputed every time (Flux deletes it at the start of a reconcile).
      if (scope.conditions.isFalse(CONDITION.sourceVerified)) scope.conditions.delete(CONDITION.sourceVerified);
      return CONTINUE;
    },
    async function policyCheck(scope) {
      const evaluation = evaluate(scope.object, options.policy(), { phase: 'admission' });
      // The controller resolves the tag itself at every reconcile, so "not pinned" is not a reason to refuse.
      const denials = evaluation.findings.filter(
        (finding) =>
          finding.severity === 'error' && !(finding.ruleId === 'digest-required' && finding.path === 'spec.ref.digest'),
      );
      if (evaluation.verdict !== 'deny' || denials.length === 0) return CONTINUE;
      const error = new PinwardenError(
        'PW_POLICY_DENIED',
        `refused by the SourcePolicy: ${denials.map((finding) => `${finding.ruleId} (${finding.path}): ${finding.message}`).join('; ')}`,
      );
      return { kind: 'fail', error, stalled: true };
    },
    async function url(scope) {
      const spec = specOf(scope.object);
      const raw = typeof spec.url === 'string' ? spec.url : '';
      try {
        if (!raw.startsWith('oci://'))
          throw new PinwardenError('PW_REF_INVALID', "URL must be in format 'oci://<domain>/<org>/<repo>'");
        parseRepositoryUrl(raw);
      } catch (error) {
        const failure = toPinwardenError(error, 'PW_REF_INVALID');
        scope.conditions.markTrue(CONDITION.fetchFailed, 'URLInvalid', failure.message);
        return { kind: 'fail', error: new PinwardenError('PW_REF_INVALID', failure.message), stalled: true };
      }
      scope.facts.oci = { url: raw, reference: '', call: callOf(scope) } satisfies Facts;
      return CONTINUE;
    },
    async function resolve(scope) {
      const facts = scope.facts.oci as Facts;
      const spec = specOf(scope.object);
      const ref = (spec.ref ?? {}) as { digest?: unknown; semver?: unknown; semverFilter?: unknown; tag?: unknown };
      try {
        const repository = await options.pins.repository(scope.object, facts.url, options.policy(), facts.call);
        facts.repository = repository;
        if (typeof ref.digest === 'string' && ref.digest !== '') {
          facts.reference = ref.digest;
          facts.tag = pinnedTag(scope.object);
        } else if (typeof ref.semver === 'string' && ref.semver !== '') {
          const constraint = parseSemverConstraint(ref.semver);
          const filter =
            typeof ref.semverFilter === 'string' && ref.semverFilter !== ''
              ? compileTagFilter(ref.semverFilter)
              : undefined;
          const tags: string[] = [];
          for await (const tag of repository.tags(facts.call)) tags.push(tag);
          const tag = highestMatchingTag(tags, constraint, filter);
          if (tag === undefined) {
            const error = new PinwardenError(
              'PW_NO_MATCHING_TAG',
              `failed to determine the artifact tag for '${facts.url}': no match found for semver: ${ref.semver}`,
            );
            scope.conditions.markTrue(CONDITION.fetchFailed, ERRORS.PW_NO_MATCHING_TAG.reason, error.message);
            return { kind: 'fail', error };
          }
          facts.reference = tag;
          facts.tag = tag;
        } else {
          facts.reference = typeof ref.tag === 'string' && ref.tag !== '' ? ref.tag : 'latest';
          facts.tag = facts.reference;
        }
        // One HEAD (GET only when the registry refuses HEAD): the question "did it change?".
        facts.descriptor = await repository.resolve(facts.reference, facts.call);
      } catch (error) {
        const failure = toPinwardenError(error);
        const message = `failed to determine artifact digest: ${failure.message}`;
        scope.conditions.markTrue(CONDITION.fetchFailed, ERRORS[failure.code].reason, message);
        return failWith(failure, message);
      }
      const revision = facts.tag ? `${facts.tag}@${facts.descriptor.digest}` : facts.descriptor.digest;
      facts.revision = revision;
      const artifact = statusOf(scope.object).artifact;
      if (artifact && artifact.revision !== revision) {
        scope.conditions.markTrue(
          CONDITION.artifactOutdated,
          'NewRevision',
          `new revision '${revision}' for '${facts.url}'`,
        );
        markProgressing(scope.conditions, `building artifact: new revision '${revision}' for '${facts.url}'`);
      }
      return CONTINUE;
    },
    async function upToDate(scope) {
      const facts = scope.facts.oci as Facts;
      const status = statusOf(scope.object);
      const artifact = status.artifact;
      if (!artifact || artifact.revision !== facts.revision) return CONTINUE;
      if (contentConfigChanged(scope.object)) return CONTINUE;
      const stored =
        typeof artifact.digest === 'string' && (await options.store.directoryFor(artifact.digest)) !== undefined;
      if (!stored) {
        markProgressing(scope.conditions, 'building artifact: disappeared from storage');
        return CONTINUE;
      }
      if (specOf(scope.object).verify !== undefined) {
        const verified = scope.conditions.get(CONDITION.sourceVerified);
        if (verified?.status !== 'True' || verified.observedGeneration !== scope.object.metadata.generation)
          return CONTINUE;
      } else {
        scope.conditions.delete(CONDITION.sourceVerified);
      }
      markStored(scope.conditions, artifact.revision);
      return { kind: 'done' };
    },
    async function verify(scope) {
      const facts = scope.facts.oci as Facts;
      const spec = specOf(scope.object);
      if (spec.verify === undefined) {
        scope.conditions.delete(CONDITION.sourceVerified);
        return CONTINUE;
      }
      const pinned = withDigest(scope.object, facts.descriptor!.digest);
      const outcome = await options.verifier.verify(pinned, options.policy(), facts.call);
      const provider = providerLabel(spec.verify);
      if (!outcome) return CONTINUE;
      if (outcome.ok && outcome.binding?.decision.action === 'refuse') {
        const message = `failed to verify the signature using provider '${provider}': ${outcome.binding.decision.message}`;
        scope.conditions.markFalse(CONDITION.sourceVerified, 'VerificationError', message);
        return { kind: 'fail', error: new PinwardenError('PW_COMMIT_BINDING', message) };
      }
      if (!outcome.ok) {
        const message = `failed to verify the signature using provider '${provider}': ${outcome.error.message}`;
        if (outcome.error.kind === 'verification') {
          scope.conditions.markFalse(CONDITION.sourceVerified, 'VerificationError', message);
        } else {
          scope.conditions.markTrue(CONDITION.fetchFailed, ERRORS[outcome.error.code].reason, message);
        }
        return {
          kind: 'fail',
          error: new PinwardenError(outcome.error.code, message, { details: outcome.error.details }),
        };
      }
      // commitBinding: warn admits an unbound signature, and says so where Flux users look (#13).
      const unbound =
        outcome.binding?.decision.action === 'warn' ? `; warning: ${outcome.binding.decision.message}` : '';
      scope.conditions.markTrue(
        CONDITION.sourceVerified,
        REASON.succeeded,
        `verified signature of revision ${facts.revision}${unbound}`,
      );
      return CONTINUE;
    },
    async function pull(scope) {
      const facts = scope.facts.oci as Facts;
      const spec = specOf(scope.object);
      const selector = (spec.layerSelector ?? {}) as { mediaType?: unknown; operation?: unknown };
      const layerSelector = {
        ...(typeof selector.mediaType === 'string' && selector.mediaType !== ''
          ? { mediaType: selector.mediaType }
          : {}),
        operation: selector.operation === 'copy' ? ('copy' as const) : ('extract' as const),
      };
      let stored: StoredArtifact | undefined;
      try {
        // The store keys artifacts by the manifest digest and what was taken from it: another object with the
        // same revision (verified above on its own terms) reuses what is stored, no download.
        const key = storeKey(facts.descriptor!.digest, layerSelector);
        stored = await options.store.get(key);
        stored ??= await options.store.put(key, async (destination) => {
          const pulled = await options.pull({
            repository: facts.repository!,
            digest: facts.descriptor!.digest,
            layerSelector,
            destination,
            call: facts.call,
          });
          return { metadata: pulled.annotations };
        });
      } catch (error) {
        const failure = toPinwardenError(error);
        scope.conditions.markTrue(CONDITION.fetchFailed, ERRORS[failure.code].reason, failure.message);
        return failWith(failure, failure.message);
      }
      const revision = facts.revision!;
      const metadata = stored.metadata ?? {};
      const artifact: ArtifactStatus = {
        revision,
        digest: stored.digest,
        path: `ocirepository/${scope.object.metadata.namespace ?? ''}/${scope.object.metadata.name}/${stored.digest.slice('sha256:'.length)}`,
        url: `file://${stored.directory}`,
        size: stored.size,
        lastUpdateTime: now()
          .toISOString()
          .replace(/\.\d+Z$/, 'Z'),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      };
      scope.status.artifact = artifact;
      scope.status.observedLayerSelector = Object.keys(spec.layerSelector ?? {}).length > 0 ? spec.layerSelector : null;
      scope.status.observedIgnore = typeof spec.ignore === 'string' ? spec.ignore : null;
      markStored(scope.conditions, revision);
      const source = metadata['org.opencontainers.image.source'];
      const origin = metadata['org.opencontainers.image.revision'];
      scope.events.push({
        type: 'Normal',
        reason: 'NewArtifact',
        message: `stored artifact with revision '${revision}' from '${facts.url}'${source && origin ? `, origin source '${source}', origin revision '${origin}'` : ''}`,
        annotations: {
          'source.toolkit.fluxcd.io/revision': revision,
          'source.toolkit.fluxcd.io/digest': stored.digest,
        },
      });
      return { kind: 'done' };
    },
  ];

  /**
   * Drops the object's artifact from the store unless another OCIRepository still names the same one (the
   * store is content-addressed: two objects at the same revision share one stored artifact).
   */
  const dropArtifact = async (
    object: KubeObject,
    list: ((kind: string) => KubeObject[]) | undefined,
  ): Promise<'removed' | 'kept' | 'none'> => {
    const digest = statusOf(object).artifact?.digest;
    if (typeof digest !== 'string' || !options.store.has(digest)) return 'none';
    const same = (other: KubeObject): boolean =>
      object.metadata.uid !== undefined
        ? other.metadata.uid === object.metadata.uid
        : other.metadata.namespace === object.metadata.namespace && other.metadata.name === object.metadata.name;
    const others = (list?.(RESOURCES.ociRepository.kind) ?? []).filter((other) => !same(other));
    if (others.some((other) => statusOf(other).artifact?.digest === digest)) return 'kept';
    await options.store.remove(digest);
    return 'removed';
  };

  return {
    resource: RESOURCES.ociRepository,
    deadlineMs: (object) => (timeoutOf(object) ?? 60_000) + 10_000,
    // The informer saw it go (our finalizer removed, or it never had one): nothing of it stays in the store.
    deleted: async (object, { list }) => {
      await dropArtifact(object, list);
    },
    async reconcile({ object, signal, stopping, list }): Promise<ReconcileAnswer> {
      // source-controller's prelude: deletion first, then the finalizer (and a requeue), then suspend.
      if (isDeleting(object)) {
        // Without our finalizer the deletion is not ours to finish (nothing to wait for).
        if (!hasFinalizer(object, options.finalizers.name)) return { result: 'success', requeue: { never: true } };
        // source-controller's garbage collection of a deleted object, with its Events (reasons as Flux's).
        let dropped: Awaited<ReturnType<typeof dropArtifact>>;
        try {
          dropped = await dropArtifact(object, list);
        } catch (error) {
          const problem = toPinwardenError(error, 'PW_INTERNAL');
          await options.events.record(
            object,
            {
              type: 'Warning',
              reason: 'GarbageCollectionFailed',
              message: `garbage collection for deleted resource failed: ${problem.message}`,
            },
            signal,
          );
          throw problem;
        }
        if (dropped === 'removed')
          await options.events.record(
            object,
            {
              type: 'Normal',
              reason: 'GarbageCollectionSucceeded',
              message: 'garbage collected artifacts for deleted resource',
            },
            signal,
          );
        await options.finalizers.remove(object, signal);
        return { result: 'success', requeue: { never: true } };
      }
      if (!hasFinalizer(object, options.finalizers.name)) {
        // The finalizer write is an UPDATE that admission (pinwarden's own validating webhook among others) may
        // refuse for an object the policy denies: then reconcile without it, so the status still says why (the
        // policy step stalls it), and the informer's `deleted` drops the artifact when the object goes.
        const added = await options.finalizers.add(object, signal).catch(() => undefined);
        if (added?.gone === true) return { result: 'success', requeue: { never: true } };
        if (added?.written === true) return { result: 'success', requeue: { afterMs: 0 } };
        // Refused, or the live object had it already (the cache was behind): go on.
      }
      const interval = specOf(object).interval;
      const intervalMs = (typeof interval === 'string' ? parseGoDurationMs(interval) : undefined) ?? 600_000;
      if (specOf(object).suspend === true)
        return { result: 'success', requeue: { afterMs: jittered(intervalMs, 0.1, options.random) } };
      const outcome = await drive({
        object,
        steps,
        rules: OCI_RULES,
        intervalMs: jittered(intervalMs, 0.1, options.random),
        status: options.status,
        events: options.events,
        signal,
        stopping,
        now,
      });
      return answerOf(outcome);
    },
  };
}

/** The store key of what was taken from a manifest: the manifest digest for `extract` of the default layer. */
export function storeKey(
  manifestDigest: string,
  selector: { mediaType?: string; operation: 'extract' | 'copy' },
): string {
  if (selector.mediaType === undefined && selector.operation === 'extract') return manifestDigest;
  // Another selection of the same manifest is other content: a digest of (manifest, selection).
  return `sha256:${sha256Hex(`${manifestDigest}\u0000${selector.mediaType ?? ''}\u0000${selector.operation}`)}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function failWith(error: PinwardenError, message: string): { kind: 'fail'; error: PinwardenError } {
  return {
    kind: 'fail',
    error: message === error.message ? error : new PinwardenError(error.code, message, { details: error.details }),
  };
}

function specOf(object: KubeObject): Record<string, unknown> {
  return typeof object.spec === 'object' && object.spec !== null ? (object.spec as Record<string, unknown>) : {};
}

function statusOf(object: KubeObject): {
  observedGeneration?: unknown;
  artifact?: Partial<ArtifactStatus>;
  observedIgnore?: unknown;
  observedLayerSelector?: unknown;
} {
  return typeof object.status === 'object' && object.status !== null ? object.status : {};
}

function timeoutOf(object: KubeObject): number | undefined {
  const raw = specOf(object).timeout;
  return typeof raw === 'string' ? parseGoDurationMs(raw) : undefined;
}

/** Every remote call of one reconcile shares `spec.timeout` (default 60 s), as in Flux. */
function callOf(scope: ReconcileScope): Call {
  const ms = timeoutOf(scope.object) ?? 60_000;
  return { signal: AbortSignal.any([scope.signal, AbortSignal.timeout(ms)]), deadline: Date.now() + ms };
}

/** The tag the webhook pinned from (`tag:v1` → v1; `semver:>=1 → v1.2.0` → v1.2.0). */
function pinnedTag(object: KubeObject): string | undefined {
  const value = object.metadata.annotations?.[PINNED_FROM];
  if (typeof value !== 'string') return undefined;
  const arrow = value.indexOf(' → ');
  if (arrow >= 0) return value.slice(arrow + 3).trim() || undefined;
  return value.startsWith('tag:') ? value.slice(4) || undefined : undefined;
}

function withDigest(object: KubeObject, digest: string): KubeObject {
  const spec = specOf(object);
  return { ...object, spec: { ...spec, ref: { digest } } };
}

function providerLabel(verify: unknown): string {
  const block = (verify ?? {}) as { provider?: unknown; secretRef?: unknown };
  const provider = typeof block.provider === 'string' ? block.provider : 'cosign';
  return provider === 'cosign' && block.secretRef === undefined ? 'cosign keyless' : provider;
}

function contentConfigChanged(object: KubeObject): boolean {
  const spec = specOf(object);
  const status = statusOf(object);
  const ignore = typeof spec.ignore === 'string' ? spec.ignore : undefined;
  const observedIgnore = typeof status.observedIgnore === 'string' ? status.observedIgnore : undefined;
  const selector =
    spec.layerSelector && Object.keys(spec.layerSelector).length > 0 ? JSON.stringify(spec.layerSelector) : undefined;
  const observedSelector = status.observedLayerSelector ? JSON.stringify(status.observedLayerSelector) : undefined;
  return ignore !== observedIgnore || selector !== observedSelector;
}

export { PinwardenError };

/** The artifact for `revision` is in storage: fetch failures and staleness are over. */
function markStored(conditions: ReconcileScope['conditions'], revision: string | undefined): void {
  conditions.delete(CONDITION.fetchFailed);
  conditions.delete(CONDITION.artifactOutdated);
  conditions.markTrue(CONDITION.artifactInStorage, REASON.succeeded, `stored artifact for digest '${revision}'`);
}
