/** The shape every rule shares. A rule reports findings and never throws; it does no I/O. */
import type { Finding } from '../findings.ts';
import type { BucketView, OciRepositoryView } from '../flux/objects.ts';
import type { SourcePolicy } from '../policy/index.ts';
import type { TrustDecision, VerifySecretFacts } from '../trust/index.ts';
import type { PrecomputedIdentities } from './identity-verdict.ts';

export interface RuleContext {
  policy: SourcePolicy;
  /** admission: /validate sees the object after /mutate; offline: `check` without --resolve. */
  phase: 'admission' | 'offline';
  /** Admission only: why the mutating hook could not pin this object, when known. */
  pinFailure?: string;
  /** What the webhook saw in the Secrets `spec.verify` names; absent where nobody can look (`check`). */
  verifySecrets?: VerifySecretFacts;
  /** Identity decisions already made off the event loop (the webhook's worker); absent: decided inline. */
  identities?: PrecomputedIdentities;
}

export type RuleFinding = Omit<Finding, 'ruleId' | 'severity'> & { severity?: Finding['severity'] };

interface RuleBase {
  id: string;
  summary: string;
  /** Severity of this rule's findings in enforce mode. */
  severity: Finding['severity'];
}

export interface OciRepositoryRule extends RuleBase {
  kind: 'OCIRepository';
  check(view: OciRepositoryView, context: RuleContext): RuleFinding[];
}

export interface BucketRule extends RuleBase {
  kind: 'Bucket';
  check(view: BucketView, context: RuleContext): RuleFinding[];
}

export type Rule = OciRepositoryRule | BucketRule;

/** Keyless cosign: Flux verifies with Fulcio identities when verify.secretRef is absent. */
export function isKeylessCosign(view: OciRepositoryView): boolean {
  return view.verify !== undefined && view.verify.provider === 'cosign' && !view.verify.hasSecretRef;
}

/**
 * The finding of a trust decision on tenant material (`key-not-trusted`, `trusted-root-not-allowed`): none
 * when trusted; a warning when nobody could look (offline), naming what the webhook will check; else an error.
 */
export function trustFindings(
  decision: TrustDecision,
  path: string,
  fix: { unseen: string; refused: string },
): RuleFinding[] {
  if (decision.trusted) return [];
  return [
    {
      path,
      message: decision.message,
      fix: decision.unseen ? fix.unseen : fix.refused,
      ...(decision.unseen ? { severity: 'warning' as const } : {}),
    },
  ];
}
