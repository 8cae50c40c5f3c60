/**
 * One submitted `matchOIDCIdentity` entry against the policy's allowed identities. Flux accepts a
 * certificate when the issuer regex AND the subject regex both match, so the entry is safe iff ONE
 * allowed identity contains both languages (issuer ⊆ issuer' and subject ⊆ subject'); containing the
 * issuer via one identity and the subject via another would let through pairs that neither allows.
 */
import { compileGoRegex, unionOf } from './go-program.ts';
import type { GoRegex } from './go-program.ts';
import { containsWithin, startBudget } from './containment.ts';
import type { Budget, ContainmentOptions, DecidedContainment } from './containment.ts';
import { ComplexityExceeded } from './search-automaton.ts';

export const IDENTITY_FIELDS = ['issuer', 'subject'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** A pair of Go regexes, as in Flux `matchOIDCIdentity[]` and the policy's `allowedIdentities[]`. */
export interface IdentityRegexes {
  readonly issuer: string;
  readonly subject: string;
}

/** Why one field of the submitted entry is not covered. */
export type FieldProblem =
  | {
      readonly field: IdentityField;
      readonly pattern: string;
      readonly kind: 'not-contained';
      readonly counterexample: string;
      /** 'all': no allowed identity accepts the counterexample; a number: the index of the closest one. */
      readonly rejectedBy: 'all' | number;
    }
  | {
      readonly field: IdentityField;
      readonly pattern: string;
      readonly kind: 'invalid';
      /** 'submitted', or the index of the allowed identity whose regex does not compile. */
      readonly source: 'submitted' | number;
      readonly message: string;
    }
  | { readonly field: IdentityField; readonly pattern: string; readonly kind: 'too-complex'; readonly reason: string };

export type IdentityCheck =
  | { readonly allowed: true; readonly allowedIndex: number }
  | {
      readonly allowed: false;
      readonly reason: 'no-allowed-identities' | 'invalid' | 'not-contained' | 'too-complex';
      /** Per-field problems, from the closest candidate when no single field is outside every identity. */
      readonly problems: readonly FieldProblem[];
    };

interface CompiledIdentity {
  readonly index: number;
  readonly issuer: GoRegex;
  readonly subject: GoRegex;
}

/** Decides whether the submitted identity entry is provably inside one of the allowed identities. */
export function checkIdentity(
  submitted: IdentityRegexes,
  allowed: readonly IdentityRegexes[],
  options: ContainmentOptions = {},
): IdentityCheck {
  // Compiling counts against the budget too: a 1 KiB pattern of nested counted repeats is expensive to parse.
  const budget = startBudget(options);
  const entry = compileSubmitted(submitted);
  if (Array.isArray(entry)) return { allowed: false, reason: 'invalid', problems: entry };
  if (allowed.length === 0) return { allowed: false, reason: 'no-allowed-identities', problems: [] };
  const { candidates, problems } = compileAllowed(allowed);
  if (candidates.length === 0) return { allowed: false, reason: 'invalid', problems };
  const spent = budgetSpent(budget);
  if (spent)
    return {
      allowed: false,
      reason: 'too-complex',
      problems: [
        {
          field: 'subject',
          pattern: submitted.subject,
          kind: 'too-complex',
          reason: `compiling the patterns ${spent}`,
        },
      ],
    };
  const outsideAll = fieldsOutsideEveryIdentity(entry, candidates, budget);
  const proven = outsideAll.filter((problem) => problem.kind === 'not-contained');
  if (proven.length > 0) return { allowed: false, reason: 'not-contained', problems: proven };
  // A field too complex even against the union is the answer: searching candidates after it has spent the
  // budget would blame the other field too, for running out of time rather than for its language.
  if (outsideAll.length > 0) return { allowed: false, reason: 'too-complex', problems: outsideAll };
  return searchCandidates(entry, candidates, budget);
}

/** The budget's message when compiling already used it up, else undefined. */
function budgetSpent(budget: Budget): string | undefined {
  try {
    budget.checkBudget();
    return undefined;
  } catch (error) {
    if (error instanceof ComplexityExceeded) return error.message;
    throw error;
  }
}

function compileSubmitted(submitted: IdentityRegexes): CompiledIdentity | FieldProblem[] {
  const problems: FieldProblem[] = [];
  const regexes: Partial<Record<IdentityField, GoRegex>> = {};
  for (const field of IDENTITY_FIELDS) {
    const compiled = compileGoRegex(submitted[field]);
    if (compiled.ok) regexes[field] = compiled.regex;
    else
      problems.push({
        field,
        pattern: submitted[field],
        kind: 'invalid',
        source: 'submitted',
        message: compiled.message,
      });
  }
  if (!regexes.issuer || !regexes.subject) return problems;
  return { index: -1, issuer: regexes.issuer, subject: regexes.subject };
}

/** Allowed identities that do not compile can never contain anything; they are reported, not fatal. */
function compileAllowed(allowed: readonly IdentityRegexes[]): {
  candidates: CompiledIdentity[];
  problems: FieldProblem[];
} {
  const candidates: CompiledIdentity[] = [];
  const problems: FieldProblem[] = [];
  allowed.forEach((identity, index) => {
    const issuer = compileGoRegex(identity.issuer);
    const subject = compileGoRegex(identity.subject);
    if (issuer.ok && subject.ok) candidates.push({ index, issuer: issuer.regex, subject: subject.regex });
    for (const [field, compiled] of [
      ['issuer', issuer],
      ['subject', subject],
    ] as const) {
      if (!compiled.ok)
        problems.push({ field, pattern: identity[field], kind: 'invalid', source: index, message: compiled.message });
    }
  });
  return { candidates, problems };
}

/**
 * A field whose language escapes the union of every allowed identity's field gives the strongest denial:
 * a string no allowed identity accepts. With a single candidate the per-candidate search says the same.
 * Fields too complex to decide against the union are returned too (kind 'too-complex').
 */
function fieldsOutsideEveryIdentity(
  entry: CompiledIdentity,
  candidates: readonly CompiledIdentity[],
  budget: Budget,
): FieldProblem[] {
  if (candidates.length === 1) return [];
  const problems: FieldProblem[] = [];
  for (const field of IDENTITY_FIELDS) {
    const union = unionOf(candidates.map((candidate) => candidate[field]));
    const problem = toProblem(field, entry[field].source, containsWithin(entry[field], union, budget), 'all');
    if (problem) problems.push(problem);
    // The budget is spent: checking the next field now would only report that, not its language.
    if (problem?.kind === 'too-complex') break;
  }
  return problems;
}

function searchCandidates(
  entry: CompiledIdentity,
  candidates: readonly CompiledIdentity[],
  budget: Budget,
): IdentityCheck {
  let closest: FieldProblem[] | undefined;
  for (const candidate of candidates) {
    const problems = candidateProblems(entry, candidate, budget, candidates.length === 1 ? 'all' : candidate.index);
    if (problems.length === 0) return { allowed: true, allowedIndex: candidate.index };
    if (!closest || isCloser(problems, closest)) closest = problems;
  }
  const problems = closest ?? [];
  const decided = problems.some((problem) => problem.kind === 'not-contained');
  return { allowed: false, reason: decided ? 'not-contained' : 'too-complex', problems };
}

function candidateProblems(
  entry: CompiledIdentity,
  candidate: CompiledIdentity,
  budget: Budget,
  rejectedBy: 'all' | number,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of IDENTITY_FIELDS) {
    const problem = toProblem(
      field,
      entry[field].source,
      containsWithin(entry[field], candidate[field], budget),
      rejectedBy,
    );
    if (problem) problems.push(problem);
  }
  return problems;
}

function toProblem(
  field: IdentityField,
  pattern: string,
  outcome: DecidedContainment,
  rejectedBy: 'all' | number,
): FieldProblem | undefined {
  switch (outcome.result) {
    case 'contained':
      return undefined;
    case 'not-contained':
      return { field, pattern, kind: 'not-contained', counterexample: outcome.counterexample, rejectedBy };
    case 'too-complex':
      return { field, pattern, kind: 'too-complex', reason: outcome.reason };
  }
}

/** Fewer failing fields is closer; at equal count a proven counterexample beats "too complex". */
function isCloser(problems: readonly FieldProblem[], than: readonly FieldProblem[]): boolean {
  if (problems.length !== than.length) return problems.length < than.length;
  const proven = (list: readonly FieldProblem[]): number =>
    list.filter((problem) => problem.kind === 'not-contained').length;
  return proven(problems) > proven(than);
}

/**
 * One line for a denial, e.g.
 * `subject "^https://github.com/org/.*$" accepts "https://githubXcom/org/" which no allowed identity accepts`.
 */
export function describeFieldProblem(problem: FieldProblem): string {
  const subject = `${problem.field} ${quotePattern(problem.pattern)}`;
  switch (problem.kind) {
    case 'not-contained': {
      const who =
        problem.rejectedBy === 'all'
          ? 'no allowed identity accepts'
          : `allowed identity #${problem.rejectedBy} does not accept`;
      return `${subject} accepts ${JSON.stringify(problem.counterexample)} which ${who}`;
    }
    case 'invalid':
      return problem.source === 'submitted'
        ? `${subject} is not a valid Go regexp: ${problem.message}`
        : `allowed identity #${problem.source} ${problem.field} is not a valid Go regexp: ${problem.message}`;
    case 'too-complex':
      return `${subject} could not be proven inside the allowed identities: ${problem.reason}`;
  }
}

/**
 * A regex as its author wrote it, in quotes: JSON escaping would double every backslash (`\\.` for `\.`),
 * which misreads as a different regex. Counterexamples keep JSON escaping: they may hold control characters.
 */
export function quotePattern(pattern: string): string {
  return `"${pattern.replaceAll('"', '\\"')}"`;
}
