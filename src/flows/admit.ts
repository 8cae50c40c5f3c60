/**
 * The admission flow shared by the webhook and `check --resolve`. Validate = `evaluate` in the admission
 * phase (so `/validate` and `check` give identical verdicts), plus the reason pinning failed when the object
 * reaches validation unpinned. Mutate = policy → (resolve only when needed) → `planPin`.
 */
import { briefCause } from '../core/brief-cause.ts';
import type { PinwardenError } from '../core/errors.ts';
import { evaluate, verdictOf } from '../core/evaluate.ts';
import type { Evaluation } from '../core/evaluate.ts';
import type { Finding } from '../core/findings.ts';
import { asRecord, asString, governedKindOf, objectRefOf, readOciRepository } from '../core/flux/index.ts';
import { applyPatch, planIntent, planPinFor } from '../core/mutation/index.ts';
import type { PinIntent, PinPlan, PinTarget, Resolution } from '../core/mutation/index.ts';
import { excusedAsUnreachable } from '../core/policy/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { ExceptionSet } from '../core/exceptions/index.ts';
import type { PrecomputedIdentities } from '../core/rules/index.ts';
import { needsNamespaceLabels, selectRule, type ScopeFacts } from '../core/scope/index.ts';
import type { NamespaceReader, SecretReader } from '../kube/index.ts';
import type { PinFailureLog } from './pin-failures.ts';
import type { PinResolver } from './resolve.ts';
import { withRegistryCall } from './registry-call.ts';
import type { AdmissionVerifier, VerifyOutcome } from './verify.ts';
import { needsVerifyTrust, readVerifyTrust } from './verify-trust.ts';
import type { VerifyTrust } from './verify-trust.ts';

export interface AdmitDeps {
  pins: PinResolver;
  failures: PinFailureLog;
  now: () => Date;
  /** Signature checks for `verifyAtAdmission`; without it the knob has no effect (e.g. `check --resolve`). */
  verifier?: AdmissionVerifier;
  /**
   * Reads the Secrets `spec.verify` names so the trust rules can judge them (`key-not-trusted`,
   * `trusted-root-not-allowed`); without it (`check --resolve`) those rules can only warn.
   */
  secrets?: SecretReader;
  /** Reads Namespace labels for rules with a `match.namespaceSelector`; without it such rules cannot be judged. */
  namespaces?: NamespaceReader;
}

export interface AdmissionInput {
  object: unknown;
  /** UPDATE only. */
  oldObject?: unknown;
  /** `request.namespace`: fills a missing metadata.namespace (exemptions and Secret lookups need it). */
  namespace?: string;
  /** What is left of the caller's own deadline, in ms (the apiserver's `?timeout=`). */
  remainingMs?: number;
  /** The labels of the object's Namespace, when known (rules with a namespaceSelector need them). */
  scope?: ScopeFacts;
  /** SourcePolicyExceptions in force and the clock they are judged by. */
  exceptions?: ExceptionSet;
  /** Identity decisions the webhook made in its worker, off the event loop. */
  identities?: PrecomputedIdentities;
}

export interface ValidateResult {
  evaluation: Evaluation;
  /** Why the object is unpinned, when pinning was wanted and failed. */
  pinFailure?: PinwardenError;
  /** `verifyAtAdmission`: the signature check of the pinned digest, when one ran. */
  verification?: VerifyOutcome;
}

/**
 * Synchronous when no registry call is needed: nothing to pin, a sticky reuse, or a digest the resolver
 * already holds for this object's registry access. A Promise only when the registry must be asked.
 */
export function mutateObject(input: AdmissionInput, given: SourcePolicy, deps: AdmitDeps): PinPlan | Promise<PinPlan> {
  return withScope(input, given, deps, (scoped) => mutateScoped(scoped, given, deps));
}

function mutateScoped(input: AdmissionInput, given: SourcePolicy, deps: AdmitDeps): PinPlan | Promise<PinPlan> {
  const object = withNamespace(input.object, input.namespace);
  // The rule that decides this object supplies every setting below (pinning, registry calls).
  const policy = selectRule(object, given, input.scope).policy;
  const intent = planIntent(object, input.oldObject, policy, input.scope);
  if (intent.action !== 'resolve') return planPinFor(intent, object, undefined, deps.now());
  const cached = deps.pins.peek?.(object, intent.target, policy);
  if (cached) return pinWith(intent, object, cached, deps);
  return withRegistryCall(policy, input.remainingMs, (call) =>
    deps.pins.resolve(object, intent.target, policy, call),
  ).then((resolution) => pinWith(intent, object, resolution, deps));
}

function pinWith(
  intent: PinIntent & { action: 'resolve' },
  object: unknown,
  resolution: Resolution,
  deps: AdmitDeps,
): PinPlan {
  const ref = objectRefOf(object);
  if (resolution.ok) deps.failures.forget(ref, intent.target);
  else deps.failures.record(ref, intent.target, resolution.error);
  return planPinFor(intent, object, resolution, deps.now());
}

/**
 * Synchronous when the rules alone decide (the common case: a pinned object, no verifyAtAdmission, no Secret
 * in `spec.verify`), so the webhook answers without timers or promise hops; a Promise when the registry must be
 * asked or the keys / trusted root a `spec.verify` names must be read and checked against the policy.
 */
export function validateObject(
  input: AdmissionInput,
  given: SourcePolicy,
  deps: AdmitDeps,
): ValidateResult | Promise<ValidateResult> {
  return withScope(input, given, deps, (scoped) => validateScoped(scoped, given, deps));
}

function validateScoped(
  input: AdmissionInput,
  given: SourcePolicy,
  deps: AdmitDeps,
): ValidateResult | Promise<ValidateResult> {
  const object = withNamespace(input.object, input.namespace);
  // The rule that decides this object supplies every setting below (rules, verifyAtAdmission, registry calls).
  const policy = selectRule(object, given, input.scope).policy;
  const first = evaluate(object, policy, { phase: 'admission', ...extrasOf(input) });
  if (deps.secrets && first.governed && !first.exempt && needsVerifyTrust(readOciRepository(object))) {
    return validateWithTrust(object, input, policy, deps, deps.secrets);
  }
  if (!first.findings.some(isUnpinnedFinding)) {
    if (!needsVerification(first, policy, deps)) return { evaluation: first };
    const cached = deps.verifier?.cached(object, policy);
    if (cached === undefined) return { evaluation: first };
    if (cached !== 'miss') return withVerification({ evaluation: first }, cached, policy);
  }
  return finishValidation({ object, input, policy, deps }, first);
}

/** The Secrets are read once: their facts feed the rules, and the same vetted material feeds verification. */
async function validateWithTrust(
  object: unknown,
  input: AdmissionInput,
  policy: SourcePolicy,
  deps: AdmitDeps,
  secrets: SecretReader,
): Promise<ValidateResult> {
  const namespace = objectRefOf(object).namespace ?? 'default';
  const trust = await withRegistryCall(policy, input.remainingMs, (call) =>
    readVerifyTrust(readOciRepository(object), namespace, policy, secrets, call),
  );
  const first = evaluate(object, policy, { phase: 'admission', verifySecrets: trust.facts, ...extrasOf(input) });
  return finishValidation({ object, input, policy, deps, trust }, first);
}

/** One object under validation, with what its later steps share (the Secrets' trust, when they were read). */
interface Validation {
  object: unknown;
  input: AdmissionInput;
  policy: SourcePolicy;
  deps: AdmitDeps;
  trust?: VerifyTrust;
}

async function finishValidation(validation: Validation, first: Evaluation): Promise<ValidateResult> {
  return verifyAdmission(validation, await explainUnpinned(validation, first));
}

async function explainUnpinned(
  { object, input, policy, deps, trust }: Validation,
  first: Evaluation,
): Promise<ValidateResult> {
  if (!first.findings.some(isUnpinnedFinding)) return { evaluation: first };
  const why = await whyUnpinned(object, input, policy, deps);
  if (!why) return { evaluation: first };
  const evaluation = evaluate(object, policy, {
    phase: 'admission',
    pinFailure: why.text,
    ...(trust ? { verifySecrets: trust.facts } : {}),
    ...extrasOf(input),
  });
  if (!why.error) return { evaluation };
  return { evaluation: applyOnUnreachable(evaluation, why.error, policy), pinFailure: why.error };
}

/**
 * `verifyAtAdmission`: the pinned digest's signature, checked after the rules (a cached answer never replaces
 * them). Skipped when the rules already deny: the verdict cannot change, and no registry call is wasted.
 */
async function verifyAdmission(
  { object, input, policy, deps, trust }: Validation,
  result: ValidateResult,
): Promise<ValidateResult> {
  const verifier = deps.verifier;
  if (!verifier || !needsVerification(result.evaluation, policy, deps)) return result;
  const verification = await withRegistryCall(policy, input.remainingMs, (call) =>
    verifier.verify(object, policy, call, trust),
  );
  return verification ? withVerification(result, verification, policy) : result;
}

/**
 * A failed signature check becomes a `signature-required` finding (`commit-binding` when the only reason was
 * the binding) next to the rules' own findings; a verified signature whose commit binding only warns adds a
 * `commit-binding` warning.
 */
function withVerification(result: ValidateResult, verification: VerifyOutcome, policy: SourcePolicy): ValidateResult {
  const extra = verification.ok ? bindingFindings(verification) : [signatureFinding(verification.error, policy)];
  if (extra.length === 0) return { ...result, verification };
  const findings = [...result.evaluation.findings, ...extra];
  return { ...result, evaluation: { ...result.evaluation, findings, verdict: verdictOf(findings) }, verification };
}

/** The rule id of a commit-binding outcome at admission (`ociRepository.commitBinding`). */
export const COMMIT_BINDING_RULE_ID = 'commit-binding';

function bindingFindings(verification: VerifyOutcome & { ok: true }): Finding[] {
  const binding = verification.binding;
  if (!binding) return [];
  const findings: Finding[] = [];
  if (binding.decision.action === 'warn') {
    findings.push({
      ruleId: COMMIT_BINDING_RULE_ID,
      severity: 'warning',
      path: 'spec.ref.digest',
      // Admission warnings are cut at 120 characters: the brief form, long commit ids shortened, so both sides fit.
      message: binding.decision.brief,
      fix: 'push the artifact from the commit the signing workflow ran on (flux push artifact --source --revision), or sign it from that commit',
    });
  }
  return findings;
}

function needsVerification(evaluation: Evaluation, policy: SourcePolicy, deps: AdmitDeps): boolean {
  return (
    deps.verifier !== undefined &&
    policy.spec.ociRepository.verifyAtAdmission &&
    evaluation.governed &&
    !evaluation.exempt &&
    evaluation.verdict !== 'deny'
  );
}

function signatureFinding(error: PinwardenError, policy: SourcePolicy): Finding {
  if (error.code === 'PW_COMMIT_BINDING') {
    return {
      ruleId: COMMIT_BINDING_RULE_ID,
      severity: policy.spec.mode === 'warn' ? 'warning' : 'error',
      path: 'spec.ref.digest',
      message: `the signature verifies, but is not bound to the commit the artifact names: ${bindingReasons(error)} [${error.code}]`,
      fix: 'push the artifact from the commit the signing workflow ran on (flux push artifact --source --revision), or sign it from that commit',
    };
  }
  const lenient =
    policy.spec.mode === 'warn' ||
    excusedAsUnreachable(error, policy) ||
    (error.code === 'PW_VERIFY_UNSUPPORTED' && policy.spec.ociRepository.onUnsupportedProvider === 'warn');
  return {
    ruleId: SIGNATURE_RULE_ID,
    severity: lenient ? 'warning' : 'error',
    path: 'spec.verify',
    message: `the signature of the pinned digest did not verify at admission: ${error.message} [${error.code}]`,
    fix: 'sign the artifact (cosign sign) with the key or identity spec.verify names, or correct spec.verify',
  };
}

/** Every candidate verified and failed only the binding (the final code is the one they share): list them. */
function bindingReasons(error: PinwardenError): string {
  const reasons = Array.isArray(error.details.reasons)
    ? (error.details.reasons as { candidate?: unknown; message?: unknown }[])
    : [];
  if (reasons.length === 0) return error.message.replace(/^commit binding: /, '');
  return reasons
    .map((reason) => `${String(reason.candidate)}: ${String(reason.message).replace(/^commit binding: /, '')}`)
    .join('; ');
}

/** The rule id of an admission-time signature failure (not a static rule: it needs the registry). */
export const SIGNATURE_RULE_ID = 'signature-required';

/** `check --resolve`: the object as it would be admitted (mutated), then validated. */
export async function admitObject(
  input: AdmissionInput,
  policy: SourcePolicy,
  deps: AdmitDeps,
): Promise<{ plan: PinPlan; admitted: unknown; result: ValidateResult }> {
  const plan = await mutateObject(input, policy, deps);
  const admitted = plan.patch.length > 0 ? applyPatch(input.object, plan.patch) : input.object;
  const result = await validateObject({ ...input, object: admitted }, policy, deps);
  return { plan, admitted, result };
}

function isUnpinnedFinding(finding: { ruleId: string; path: string }): boolean {
  return finding.ruleId === 'digest-required' && finding.path === 'spec.ref.digest';
}

/**
 * The mutation's recorded failure if this replica saw it; otherwise ask again through the same cached,
 * coalesced resolver within the same deadline (the mutation may have run on another replica, or not at all).
 */
async function whyUnpinned(
  object: unknown,
  input: AdmissionInput,
  policy: SourcePolicy,
  deps: AdmitDeps,
): Promise<{ text: string; error?: PinwardenError } | undefined> {
  const intent = planIntent(object, input.oldObject, policy, input.scope);
  if (intent.action === 'reuse') return notMutated('the digest of the running object was not carried over');
  if (intent.action !== 'resolve') return undefined;
  const recorded = deps.failures.lookup(objectRefOf(object), intent.target);
  const error = recorded ?? (await resolveAgain(object, intent.target, input, policy, deps));
  if (typeof error === 'string') return notMutated(`it resolves to ${error}`);
  return { text: `${error.message} [${error.code}]`, error };
}

/** The digest when the registry answers now, else the error. */
async function resolveAgain(
  object: unknown,
  target: PinTarget,
  input: AdmissionInput,
  policy: SourcePolicy,
  deps: AdmitDeps,
): Promise<PinwardenError | string> {
  const again = await withRegistryCall(policy, input.remainingMs, (call) =>
    deps.pins.resolve(object, target, policy, call),
  );
  return again.ok ? again.digest : again.error;
}

function notMutated(detail: string): { text: string } {
  return {
    text: `the mutating webhook did not pin it (${detail}); is pinwarden's MutatingWebhookConfiguration installed?`,
  };
}

/** `registry.onUnreachable: warn`: an unpinned object whose registry was unavailable is admitted with a warning. */
function applyOnUnreachable(evaluation: Evaluation, failure: PinwardenError, policy: SourcePolicy): Evaluation {
  if (!excusedAsUnreachable(failure, policy)) return evaluation;
  // The warning is cut at 120 characters: the cause goes first, the request line (a long URL) is dropped.
  const message = `not pinned, registry unavailable (${failure.code}): ${briefCause(failure.message)}`;
  const findings = evaluation.findings.map((finding) =>
    isUnpinnedFinding(finding) ? { ...finding, severity: 'warning' as const, message } : finding,
  );
  return { ...evaluation, findings, verdict: verdictOf(findings) };
}

/** The apiserver fills metadata.namespace before admission; a hand-written review may not. */
function withNamespace(object: unknown, namespace: string | undefined): unknown {
  const record = asRecord(object);
  const metadata = asRecord(record?.metadata);
  if (!record || !metadata || namespace === undefined || namespace === '' || asString(metadata.namespace) !== undefined)
    return object;
  return { ...record, metadata: { ...metadata, namespace } };
}

function extrasOf(input: AdmissionInput): {
  scope?: ScopeFacts;
  exceptions?: ExceptionSet;
  identities?: PrecomputedIdentities;
} {
  return {
    ...(input.scope ? { scope: input.scope } : {}),
    ...(input.exceptions ? { exceptions: input.exceptions } : {}),
    ...(input.identities ? { identities: input.identities } : {}),
  };
}

/**
 * A policy with a `namespaceSelector` rule needs the Namespace's labels before any rule can be selected: read
 * (cached) within the same deadline. Otherwise synchronous as before. A missing Namespace leaves the labels
 * unknown, so such a rule is unjudged and /validate denies (`policy-rule-unjudged`).
 */
function withScope<T>(
  input: AdmissionInput,
  policy: SourcePolicy,
  deps: AdmitDeps,
  run: (input: AdmissionInput) => T | Promise<T>,
): T | Promise<T> {
  const reader = deps.namespaces;
  if (
    input.scope !== undefined ||
    !reader ||
    !needsNamespaceLabels(policy) ||
    governedKindOf(input.object) === undefined
  )
    return run(input);
  const namespace = objectRefOf(withNamespace(input.object, input.namespace)).namespace;
  if (namespace === undefined) return run(input);
  return withRegistryCall(policy, input.remainingMs, (call) => reader.getNamespaceLabels(namespace, call.signal)).then(
    (labels) => run({ ...input, scope: labels ? { namespaceLabels: labels } : {} }),
  );
}
