/**
 * Adapts the identity module's decision for one matchOIDCIdentity entry into rule findings. Results are
 * memoised (patterns repeat across objects), and one object's entries share a time bound, so a request
 * full of adversarial entries is denied quickly instead of stalling the webhook.
 */
import { budgetClock, checkIdentity, WALL_CEILING_FACTOR, describeFieldProblem, quotePattern, type FieldProblem, type IdentityCheck } from '../identity/index.ts';
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
  /** The clock each entry's own budget runs on (default: budgetClock, this thread's CPU time). */
  now?: () => number;
}

/**
 * Identity decisions made elsewhere for this object (the webhook runs them in a worker, off the event loop),
 * keyed by `identityKey`. An entry missing from it was not decided in time and is denied as too complex.
 */
export interface PrecomputedIdentities {
  checks: ReadonlyMap<string, IdentityCheck>;
  /** Why an entry is missing (e.g. "was not decided within the review's deadline"). */
  missing: string;
}

export function identityKey(entry: IdentityEntry): string {
  return `${entry.issuer}\u0000${entry.subject}`;
}

/** Default clock: CPU time, with wall time capped at WALL_CEILING_FACTOR × the object budget (see containment). */
export function startObjectBudget(now?: () => number): EntryBudget {
  if (now) {
    const started = now();
    return { remainingMs: () => OBJECT_BUDGET_MS - (now() - started), now };
  }
  const started = budgetClock();
  const wallStarted = performance.now();
  return {
    remainingMs: () => Math.min(OBJECT_BUDGET_MS - (budgetClock() - started), (OBJECT_BUDGET_MS * WALL_CEILING_FACTOR - (performance.now() - wallStarted)) / WALL_CEILING_FACTOR),
  };
}

/** Whether this entry's decision is memoised for this allowed list (no work would be done for it). */
export function isIdentityDecided(entry: IdentityEntry, allowed: readonly AllowedIdentity[]): boolean {
  return memos.get(allowed)?.has(identityKey(entry)) === true;
}

/**
 * The decisions for one object's entries under one object budget, as the rules would make them: what a
 * worker runs for the webhook. Entries past the object budget are left out (the rules deny them).
 */
export function decideIdentities(entries: readonly IdentityEntry[], allowed: readonly AllowedIdentity[], budget: EntryBudget = startObjectBudget()): Array<[string, IdentityCheck]> {
  const decided: Array<[string, IdentityCheck]> = [];
  for (const entry of entries) {
    const budgetMs = Math.min(ENTRY_BUDGET_MS, budget.remainingMs());
    if (budgetMs <= 0) break;
    decided.push([identityKey(entry), checkIdentity(entry, allowed, { budgetMs, ...(budget.now ? { now: budget.now } : {}) })]);
  }
  return decided;
}

export function identityVerdicts(entry: IdentityEntry, allowed: readonly AllowedIdentity[], index: number, budget: EntryBudget, precomputed?: PrecomputedIdentities): IdentityVerdict[] {
  const path = `spec.verify.matchOIDCIdentity[${index}]`;
  const check = precomputed ? fromPrecomputed(entry, allowed, precomputed) : memoisedCheck(entry, allowed, budget);
  if (check.allowed) return [];
  if (check.reason === 'no-allowed-identities') {
    return [{ kind: 'not-allowed', finding: { path, message: 'this policy allows no keyless identity', fix: 'verify with a public key (secretRef), or have the identity added to spec.ociRepository.allowedIdentities' } }];
  }
  return check.problems.flatMap((problem) => toVerdict(problem, path, allowed));
}

function memoOf(allowed: readonly AllowedIdentity[]): Map<string, IdentityCheck> {
  let memo = memos.get(allowed);
  if (!memo) {
    memo = new Map();
    memos.set(allowed, memo);
  }
  return memo;
}

/** Entries are capped (16 × 2 KiB keys, core/input-caps.ts), so MEMO_LIMIT entries hold at most ~8 MiB of keys. */
function remember(memo: Map<string, IdentityCheck>, key: string, check: IdentityCheck): void {
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  memo.set(key, check);
}

function memoisedCheck(entry: IdentityEntry, allowed: readonly AllowedIdentity[], budget: EntryBudget): IdentityCheck {
  const memo = memoOf(allowed);
  const key = identityKey(entry);
  const cached = memo.get(key);
  if (cached) return cached;
  const budgetMs = Math.min(ENTRY_BUDGET_MS, budget.remainingMs());
  if (budgetMs <= 0) return tooComplex(entry, `this object's identities exceeded the ${OBJECT_BUDGET_MS} ms bound`);
  const check = checkIdentity(entry, allowed, { budgetMs, ...(budget.now ? { now: budget.now } : {}) });
  remember(memo, key, check);
  return check;
}

function fromPrecomputed(entry: IdentityEntry, allowed: readonly AllowedIdentity[], precomputed: PrecomputedIdentities): IdentityCheck {
  const memo = memoOf(allowed);
  const key = identityKey(entry);
  const cached = memo.get(key);
  if (cached) return cached;
  const check = precomputed.checks.get(key);
  if (!check) return tooComplex(entry, precomputed.missing);
  remember(memo, key, check);
  return check;
}

function tooComplex(entry: IdentityEntry, reason: string): IdentityCheck {
  return { allowed: false, reason: 'too-complex', problems: [{ field: 'subject', pattern: entry.subject, kind: 'too-complex', reason }] };
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
