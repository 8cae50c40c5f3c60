/**
 * Runs the rules over one object and derives the verdict. Pure: the caller brings the policy and, at
 * admission, why pinning failed. Not-governed kinds and exempt namespaces are allowed without findings.
 */
import { applyExceptions } from './exceptions/index.ts';
import type { ExceptionSet, ExpiredException, WaivedFinding } from './exceptions/index.ts';
import type { Finding, ObjectRef, Verdict } from './findings.ts';
import {
  governedKindOf,
  objectRefOf,
  readBucket,
  readOciRepository,
  type BucketView,
  type OciRepositoryView,
} from './flux/objects.ts';
import type { DecidingRule, SourcePolicy } from './policy/index.ts';
import { describeRule, selectRule, type ScopeFacts } from './scope/index.ts';
import type { VerifySecretFacts } from './trust/index.ts';
import {
  RULES,
  bucketInputTooLarge,
  inputTooLarge,
  type PrecomputedIdentities,
  type Rule,
  type RuleContext,
  type RuleFinding,
} from './rules/index.ts';

export interface Evaluation {
  object: ObjectRef;
  governed: boolean;
  exempt: boolean;
  verdict: Verdict;
  findings: Finding[];
  /** The policy rule that decided (governed, not exempt objects): `spec.rules[N]` or the flat blocks. */
  rule?: DecidingRule;
  /** Findings a SourcePolicyException waived: reported, not counted. */
  waived?: WaivedFinding[];
  /** Expired exceptions that would have waived a finding here. */
  expiredExceptions?: ExpiredException[];
}

export interface EvaluateOptions {
  phase: RuleContext['phase'];
  pinFailure?: string;
  /** Admission: fingerprints and digest of the Secrets `spec.verify` names (see core/trust). */
  verifySecrets?: VerifySecretFacts;
  /** Identity decisions made off the event loop (see rules/identity-verdict.ts). */
  identities?: PrecomputedIdentities;
  /** Overrides spec.mode (the CLI's --mode). */
  mode?: SourcePolicy['spec']['mode'];
  /** What is known beyond the object (its Namespace's labels) for selecting the deciding rule. */
  scope?: ScopeFacts;
  /** SourcePolicyExceptions and the clock they are judged by. */
  exceptions?: ExceptionSet;
}

export function evaluate(object: unknown, policy: SourcePolicy, options: EvaluateOptions): Evaluation {
  const ref = objectRefOf(object);
  const kind = governedKindOf(object);
  if (!kind) return { object: ref, governed: false, exempt: false, verdict: 'allow', findings: [] };
  if (ref.namespace !== undefined && policy.spec.exemptNamespaces.includes(ref.namespace)) {
    return { object: ref, governed: true, exempt: true, verdict: 'allow', findings: [] };
  }
  const selection = selectRule(object, policy, options.scope);
  const context: RuleContext = {
    policy: selection.policy,
    phase: options.phase,
    ...(options.pinFailure ? { pinFailure: options.pinFailure } : {}),
    ...(options.verifySecrets ? { verifySecrets: options.verifySecrets } : {}),
    ...(options.identities ? { identities: options.identities } : {}),
  };
  const mode = options.mode ?? policy.spec.mode;
  const run = kind === 'OCIRepository' ? ruleRunner(readOciRepository(object)) : bucketRunner(readBucket(object));
  // Caps first: an oversized field is answered from its length, before any rule builds work from it.
  const capRule = kind === 'OCIRepository' ? inputTooLarge : bucketInputTooLarge;
  const oversized = run(capRule, context).map((finding) => toFinding(capRule, finding, mode, selection.rule));
  if (oversized.length > 0)
    return {
      object: ref,
      governed: true,
      exempt: false,
      rule: selection.rule,
      verdict: verdictOf(oversized),
      findings: oversized,
    };
  const found = rulesAfterCaps(kind).flatMap((rule) =>
    run(rule, context).map((finding) => toFinding(rule, finding, mode, selection.rule)),
  );
  if (selection.unjudged.length > 0)
    found.unshift(unjudgedFinding(selection.rule, selection.unjudged, ref, options.phase, mode));
  const base = { object: ref, governed: true, exempt: false, rule: selection.rule };
  if (!options.exceptions) return { ...base, verdict: verdictOf(found), findings: found };
  const outcome = applyExceptions(object, ref, selection.rule, found, options.exceptions);
  return {
    ...base,
    verdict: verdictOf(outcome.findings),
    findings: outcome.findings,
    ...(outcome.waived.length > 0 ? { waived: outcome.waived } : {}),
    ...(outcome.expired.length > 0 ? { expiredExceptions: outcome.expired } : {}),
  };
}

/** The rule id of a finding that says the deciding rule could not be told (a namespaceSelector, labels unknown). */
export const RULE_UNJUDGED_ID = 'policy-rule-unjudged';

/**
 * Fail closed at admission: a rule that selects by namespace labels the webhook could not read might have
 * been stricter than the one that decided. Offline it is a warning: `check` can only judge what it is given.
 */
function unjudgedFinding(
  rule: DecidingRule,
  unjudged: readonly string[],
  ref: ObjectRef,
  phase: RuleContext['phase'],
  mode: SourcePolicy['spec']['mode'],
): Finding {
  const names = unjudged.map((name) => `'${name}'`).join(', ');
  const namespace = ref.namespace ?? '(no namespace)';
  return {
    ruleId: RULE_UNJUDGED_ID,
    severity: phase === 'admission' && mode === 'enforce' ? 'error' : 'warning',
    path: 'metadata.namespace',
    message: `the labels of namespace ${namespace} are unknown here, so rule ${names} (namespaceSelector) could not be judged and ${describeRule(rule)} decided instead`,
    fix:
      phase === 'offline'
        ? `add the Namespace manifest of ${namespace} to the checked files, or match by namespaces instead of namespaceSelector`
        : `let pinwarden read Namespaces (RBAC get on namespaces), or match by namespaces instead of namespaceSelector`,
  };
}

/** The rules of a kind other than its input cap, in catalogue order (listed on first use, not per object). */
const rulesByKind = new Map<string, readonly Rule[]>();

function rulesAfterCaps(kind: string): readonly Rule[] {
  let rules = rulesByKind.get(kind);
  if (!rules) {
    const cap = kind === 'OCIRepository' ? inputTooLarge : bucketInputTooLarge;
    rules = RULES.filter((rule) => rule.kind === kind && rule.id !== cap.id);
    rulesByKind.set(kind, rules);
  }
  return rules;
}

type RuleRunner = (rule: Rule, context: RuleContext) => RuleFinding[];

/** The view is read once per object and shared by its rules (identity rules memoise work on it). */
function ruleRunner(view: OciRepositoryView): RuleRunner {
  return (rule, context) => (rule.kind === 'OCIRepository' ? rule.check(view, context) : []);
}

function bucketRunner(view: BucketView): RuleRunner {
  return (rule, context) => (rule.kind === 'Bucket' ? rule.check(view, context) : []);
}

function toFinding(
  rule: Rule,
  finding: RuleFinding,
  mode: SourcePolicy['spec']['mode'],
  decided: DecidingRule,
): Finding {
  const severity = mode === 'warn' ? 'warning' : (finding.severity ?? rule.severity);
  return {
    ruleId: rule.id,
    severity,
    path: finding.path,
    message: inRule(finding.message, decided),
    fix: inRule(finding.fix, decided),
  };
}

/** Rules name policy fields as spec.ociRepository.X; under spec.rules[N] the field the owner edits is that rule's. */
function inRule(text: string, decided: DecidingRule): string {
  if (decided.source === 'spec') return text;
  return text
    .replaceAll('spec.ociRepository.', `${decided.source}.ociRepository.`)
    .replaceAll('spec.bucket.', `${decided.source}.bucket.`);
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  if (findings.some((finding) => finding.severity === 'error')) return 'deny';
  return findings.length > 0 ? 'warn' : 'allow';
}
