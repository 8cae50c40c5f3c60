/**
 * Adapts the identity module's decision for one matchOIDCIdentity entry into rule findings. Results are
 * memoised (patterns repeat across objects), and one object's entries share a time bound, so a request
 * full of adversarial entries is denied quickly instead of stalling the webhook.
 */
import { checkIdentity, describeFieldProblem, quotePattern, type FieldProblem, type IdentityCheck } from '../identity/index.ts';
import type { AllowedIdentity } from '../policy/index.ts';
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

export function identityVerdicts(entry: IdentityEntry, allowed: readonly AllowedIdentity[], index: number, budget: EntryBudget): IdentityVerdict[] {
  const path = `spec.verify.matchOIDCIdentity[${index}]`;
  const check = memoisedCheck(entry, allowed, budget);
  if (check.allowed) return [];
  if (check.reason === 'no-allowed-identities') {
    return [{ kind: 'not-allowed', finding: { path, message: 'this policy allows no keyless identity', fix: 'verify with a public key (secretRef), or have the identity added to spec.ociRepository.allowedIdentities' } }];
  }
  return check.problems.flatMap((problem) => toVerdict(problem, path, allowed));
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
    case 'not-contained': {
      const bound = problem.rejectedBy === 'all' ? undefined : allowed[problem.rejectedBy]?.[problem.field];
      return [{
        kind: 'not-allowed',
        finding: {
          path: fieldPath,
          message: `${describeFieldProblem(problem)} (Flux matches unanchored)`,
          fix: `narrow the ${problem.field} regex${bound ? ` to fit ${quotePattern(bound)}` : ' to fit an allowed identity'}: anchor it with ^…$ and escape dots as \\.`,
        },
      }];
    }
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
