/**
 * Runs the rules over one object and derives the verdict. Pure: the caller brings the policy and, at
 * admission, why pinning failed. Not-governed kinds and exempt namespaces are allowed without findings.
 */
import type { Finding, ObjectRef, Verdict } from './findings.ts';
import { governedKindOf, objectRefOf, readBucket, readOciRepository, type BucketView, type OciRepositoryView } from './flux/objects.ts';
import type { SourcePolicy } from './policy/index.ts';
import type { VerifySecretFacts } from './trust/index.ts';
import { RULES, bucketInputTooLarge, inputTooLarge, type PrecomputedIdentities, type Rule, type RuleContext, type RuleFinding } from './rules/index.ts';

export interface Evaluation {
  object: ObjectRef;
  governed: boolean;
  exempt: boolean;
  verdict: Verdict;
  findings: Finding[];
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
}

export function evaluate(object: unknown, policy: SourcePolicy, options: EvaluateOptions): Evaluation {
  const ref = objectRefOf(object);
  const kind = governedKindOf(object);
  if (!kind) return { object: ref, governed: false, exempt: false, verdict: 'allow', findings: [] };
  if (ref.namespace !== undefined && policy.spec.exemptNamespaces.includes(ref.namespace)) {
    return { object: ref, governed: true, exempt: true, verdict: 'allow', findings: [] };
  }
  const context: RuleContext = {
    policy,
    phase: options.phase,
    ...(options.pinFailure ? { pinFailure: options.pinFailure } : {}),
    ...(options.verifySecrets ? { verifySecrets: options.verifySecrets } : {}),
    ...(options.identities ? { identities: options.identities } : {}),
  };
  const mode = options.mode ?? policy.spec.mode;
  const run = kind === 'OCIRepository' ? ruleRunner(readOciRepository(object)) : bucketRunner(readBucket(object));
  // Caps first: an oversized field is answered from its length, before any rule builds work from it.
  const capRule = kind === 'OCIRepository' ? inputTooLarge : bucketInputTooLarge;
  const oversized = run(capRule, context).map((finding) => toFinding(capRule, finding, mode));
  if (oversized.length > 0) return { object: ref, governed: true, exempt: false, verdict: verdictOf(oversized), findings: oversized };
  const findings = RULES.filter((rule) => rule.kind === kind && rule.id !== capRule.id).flatMap((rule) =>
    run(rule, context).map((finding) => toFinding(rule, finding, mode)),
  );
  return { object: ref, governed: true, exempt: false, verdict: verdictOf(findings), findings };
}

type RuleRunner = (rule: Rule, context: RuleContext) => RuleFinding[];

/** The view is read once per object and shared by its rules (identity rules memoise work on it). */
function ruleRunner(view: OciRepositoryView): RuleRunner {
  return (rule, context) => (rule.kind === 'OCIRepository' ? rule.check(view, context) : []);
}

function bucketRunner(view: BucketView): RuleRunner {
  return (rule, context) => (rule.kind === 'Bucket' ? rule.check(view, context) : []);
}

function toFinding(rule: Rule, finding: RuleFinding, mode: SourcePolicy['spec']['mode']): Finding {
  const severity = mode === 'warn' ? 'warning' : (finding.severity ?? rule.severity);
  return { ruleId: rule.id, severity, path: finding.path, message: finding.message, fix: finding.fix };
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  if (findings.some((finding) => finding.severity === 'error')) return 'deny';
  return findings.length > 0 ? 'warn' : 'allow';
}
