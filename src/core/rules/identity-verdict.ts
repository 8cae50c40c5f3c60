/**
 * Adapts the identity module's decision for one matchOIDCIdentity entry into rule findings. Results are
 * memoised (patterns repeat across objects), and one object's entries share a time bound, so a request
 * full of adversarial entries is denied quickly instead of stalling the webhook.
 */
import {
  budgetClock,
  checkIdentity,
  WALL_CEILING_FACTOR,
  describeFieldProblem,
  type FieldProblem,
  type IdentityCheck,
} from '../identity/index.ts';
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
  /**
   * The allowed list the checks were decided against. With `spec.rules` the deciding rule's list is the one
   * that counts: checks made against another list are ignored and the entry is decided here.
   */
  allowed?: readonly AllowedIdentity[];
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
  // Started on first use: an object whose entries are all memoised (the common review) never reads the
  // thread's CPU clock (a system call, ~1 µs). Memo hits before the first undecided entry cost nothing anyway.
  let started: number | undefined;
  let wallStarted = 0;
  return {
    remainingMs: () => {
      if (started === undefined) {
        started = budgetClock();
        wallStarted = performance.now();
      }
      return Math.min(
        OBJECT_BUDGET_MS - (budgetClock() - started),
        (OBJECT_BUDGET_MS * WALL_CEILING_FACTOR - (performance.now() - wallStarted)) / WALL_CEILING_FACTOR,
      );
    },
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
export function decideIdentities(
  entries: readonly IdentityEntry[],
  allowed: readonly AllowedIdentity[],
  budget: EntryBudget = startObjectBudget(),
): Array<[string, IdentityCheck]> {
  const decided: Array<[string, IdentityCheck]> = [];
  for (const entry of entries) {
    const budgetMs = Math.min(ENTRY_BUDGET_MS, budget.remainingMs());
    if (budgetMs <= 0) break;
    decided.push([
      identityKey(entry),
      checkIdentity(entry, allowed, { budgetMs, ...(budget.now ? { now: budget.now } : {}) }),
    ]);
  }
  return decided;
}

/** What the deciding rule offers besides keyless identities, so a fix never points where the rule allows nothing. */
export interface IdentityHints {
  /** The rule lists trusted keys (key-based verification is possible). */
  trustsKeys: boolean;
  /** `rule <name>` for messages. */
  ruleLabel: string;
}

export function identityVerdicts(
  entry: IdentityEntry,
  allowed: readonly AllowedIdentity[],
  index: number,
  budget: EntryBudget,
  precomputed?: PrecomputedIdentities,
  hints?: IdentityHints,
): IdentityVerdict[] {
  const path = `spec.verify.matchOIDCIdentity[${index}]`;
  const usable =
    precomputed && (precomputed.allowed === undefined || precomputed.allowed === allowed) ? precomputed : undefined;
  const check = usable ? fromPrecomputed(entry, allowed, usable) : memoisedCheck(entry, allowed, budget);
  if (check.allowed) return [];
  if (check.reason === 'no-allowed-identities') {
    const who = hints ? hints.ruleLabel : 'this policy';
    // Never "add the identity": the deciding rule allows none on purpose (README "Policy cookbook").
    const fix =
      hints && !hints.trustsKeys
        ? `${who} accepts neither keyless identities nor public keys: ask the policy owner which rule should decide this source (spec.rules[].match)`
        : `verify with a public key ${who} trusts (spec.verify.secretRef), or ask the policy owner which rule should decide this source (spec.rules[].match)`;
    return [{ kind: 'not-allowed', finding: { path, message: `${who} allows no keyless identity`, fix } }];
  }
  return derivedVerdicts(check, `${index}`, () =>
    check.problems.flatMap((problem) => toVerdict(problem, path, allowed)),
  );
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

function fromPrecomputed(
  entry: IdentityEntry,
  allowed: readonly AllowedIdentity[],
  precomputed: PrecomputedIdentities,
): IdentityCheck {
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
  return {
    allowed: false,
    reason: 'too-complex',
    problems: [{ field: 'subject', pattern: entry.subject, kind: 'too-complex', reason }],
  };
}

function toVerdict(problem: FieldProblem, path: string, allowed: readonly AllowedIdentity[]): IdentityVerdict[] {
  const fieldPath = `${path}.${problem.field}`;
  switch (problem.kind) {
    case 'not-contained':
      return [
        {
          kind: 'not-allowed',
          finding: notContainedFinding(problem, fieldPath, allowed, 'spec.ociRepository.allowedIdentities'),
        },
      ];
    case 'too-complex':
      return [
        {
          kind: 'too-complex',
          finding: {
            path: fieldPath,
            message: describeFieldProblem(problem),
            fix: 'simplify the pattern: anchor it with ^…$ and avoid counted repetitions of alternations',
          },
        },
      ];
    case 'invalid':
      // The submitted side is identity-regex-invalid's finding; policy regexes are validated when the policy loads.
      return [];
  }
}
