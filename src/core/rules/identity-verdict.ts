/**
 * Adapts the identity module's decision for one matchOIDCIdentity entry into rule findings. Results are
 * memoised (patterns repeat across objects), and one object's entries share a time bound, so a request
 * full of adversarial entries is denied quickly instead of stalling the webhook.
 */
import { checkIdentity, describeFieldProblem, type FieldProblem, type IdentityCheck } from '../identity/index.ts';
import type { AllowedIdentity } from '../policy/index.ts';
import { notContainedFinding } from './identity-messages.ts';
import type { RuleFinding } from './rule.ts';

export interface IdentityEntry {
  issuer: string;
  subject: string;
}

export type IdentityVerdict = { kind: 'not-allowed' | 'too-complex'; finding: RuleFinding };

/** The whole object's identity checks stay under this, well inside a 10 s webhook timeout. */
export const OBJECT_BUDGET_MS = 900;
const ENTRY_BUDGET_MS = 250;
const MEMO_LIMIT = 2048;
/** Per allowed-identity list (one per loaded policy), keyed by the submitted issuer and subject. */
const memos = new WeakMap<readonly AllowedIdentity[], Map<string, IdentityCheck>>();

export interface EntryBudget {
  remainingMs(): number;
}

export function startObjectBudget(now: () => number = () => performance.now()): EntryBudget {
  const started = now();
  return { remainingMs: () => OBJECT_BUDGET_MS - (now() - started) };
}

/** What the deciding rule offers besides keyless identities, so a fix never points where the rule allows nothing. */
export interface IdentityHints {
  /** The rule lists trusted keys (key-based verification is possible). */
  trustsKeys: boolean;
  /** `rule <name>` for messages. */
  ruleLabel: string;
}

export function identityVerdicts(entry: IdentityEntry, allowed: readonly AllowedIdentity[], index: number, budget: EntryBudget, hints?: IdentityHints): IdentityVerdict[] {
  const path = `spec.verify.matchOIDCIdentity[${index}]`;
  const check = memoisedCheck(entry, allowed, budget);
  if (check.allowed) return [];
  if (check.reason === 'no-allowed-identities') {
    const who = hints ? hints.ruleLabel : 'this policy';
    // Never "add the identity": the deciding rule allows none on purpose (README "Policy cookbook").
    const fix = hints && !hints.trustsKeys
      ? `${who} accepts neither keyless identities nor public keys: ask the policy owner which rule should decide this source (spec.rules[].match)`
      : `verify with a public key ${who} trusts (spec.verify.secretRef), or ask the policy owner which rule should decide this source (spec.rules[].match)`;
    return [{ kind: 'not-allowed', finding: { path, message: `${who} allows no keyless identity`, fix } }];
  }
  return derivedVerdicts(check, `${index}`, () => check.problems.flatMap((problem) => toVerdict(problem, path, allowed)));
}

/** Findings built from a memoised check are memoised with it (messages compare patterns; denials repeat). */
const derived = new WeakMap<IdentityCheck, Map<string, IdentityVerdict[]>>();

function derivedVerdicts(check: IdentityCheck, key: string, build: () => IdentityVerdict[]): IdentityVerdict[] {
  let byKey = derived.get(check);
  if (!byKey) {
    byKey = new Map();
    derived.set(check, byKey);
  }
  let verdicts = byKey.get(key);
  if (!verdicts) {
    verdicts = build();
    if (byKey.size < 64) byKey.set(key, verdicts);
  }
  return verdicts;
}

function memoisedCheck(entry: IdentityEntry, allowed: readonly AllowedIdentity[], budget: EntryBudget): IdentityCheck {
  let memo = memos.get(allowed);
  if (!memo) {
    memo = new Map();
    memos.set(allowed, memo);
  }
  const key = `${entry.issuer}\u0000${entry.subject}`;
  const cached = memo.get(key);
  if (cached) return cached;
  const budgetMs = Math.min(ENTRY_BUDGET_MS, budget.remainingMs());
  if (budgetMs <= 0) {
    return { allowed: false, reason: 'too-complex', problems: [{ field: 'subject', pattern: entry.subject, kind: 'too-complex', reason: `this object's identities exceeded the ${OBJECT_BUDGET_MS} ms bound` }] };
  }
  const check = checkIdentity(entry, allowed, { budgetMs });
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  memo.set(key, check);
  return check;
}

function toVerdict(problem: FieldProblem, path: string, allowed: readonly AllowedIdentity[]): IdentityVerdict[] {
  const fieldPath = `${path}.${problem.field}`;
  switch (problem.kind) {
    case 'not-contained':
      return [{ kind: 'not-allowed', finding: notContainedFinding(problem, fieldPath, allowed, 'spec.ociRepository.allowedIdentities') }];
    case 'too-complex':
      return [{
        kind: 'too-complex',
        finding: { path: fieldPath, message: describeFieldProblem(problem), fix: 'simplify the pattern: anchor it with ^…$ and avoid counted repetitions of alternations' },
      }];
    case 'invalid':
      // The submitted side is identity-regex-invalid's finding; policy regexes are validated when the policy loads.
      return [];
  }
}
