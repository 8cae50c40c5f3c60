/**
 * Language inclusion under Go's unanchored MatchString: L(submitted) ⊆ L(allowed) iff no string is
 * accepted by the submitted search automaton and rejected by the allowed one. The allowed automaton is
 * deterministic and complete, so its complement is just "flip the final states"; refa builds the lazy
 * product, and the cheapest accepting path of that product is the counterexample (checked once more with
 * re2js before it is returned). Every step is bounded by a state limit and a time budget.
 */
import { FAIterators, TooManyNodesError } from 'refa';
import type { CharSet, TransitionIterator } from 'refa';
import { compileGoRegex } from './go-program.ts';
import type { GoRegex } from './go-program.ts';
import { cheapestAcceptingWord } from './readable-path.ts';
import { ComplexityExceeded, SearchAutomaton } from './search-automaton.ts';
import type { ConstructionLimits, SearchState } from './search-automaton.ts';

export type ContainmentResult =
  | { readonly result: 'contained' }
  /** `counterexample` is accepted by the submitted regex and rejected by the allowed one (Go semantics). */
  | { readonly result: 'not-contained'; readonly counterexample: string }
  | { readonly result: 'too-complex'; readonly reason: string }
  | { readonly result: 'invalid'; readonly side: 'submitted' | 'allowed'; readonly message: string };

export interface ContainmentOptions {
  /** Upper bound on the states of each automaton and of their product. Default 20 000. */
  readonly maxStates?: number;
  /** Wall-clock budget in milliseconds for the whole check. Default 250. */
  readonly budgetMs?: number;
  /**
   * Clock in milliseconds; injected by tests (then the budget is that clock only). Default `budgetClock`,
   * this thread's CPU time, with wall time capped at WALL_CEILING_FACTOR × the budget.
   */
  readonly now?: () => number;
}

export const DEFAULT_MAX_STATES = 20_000;
export const DEFAULT_BUDGET_MS = 250;
/** Programs above this size (e.g. nested counted repeats) are refused before any automaton work. */
const MAX_PROGRAM_SIZE = 20_000;

/** A running budget shared by every check of one request. */
export interface Budget {
  readonly maxStates: number;
  readonly checkBudget: () => void;
}

type ThreadCpuUsage = () => { user: number; system: number };
const threadCpuUsage = (globalThis as { process?: { threadCpuUsage?: ThreadCpuUsage } }).process?.threadCpuUsage;

/**
 * The budget clock: CPU time of the calling thread (ms) where the runtime offers it, else wall time. A check
 * is synchronous, so its CPU time is the work it did: other processes on a loaded machine do not eat into
 * it (the same pattern is judged the same way under load), while an adversarial one is cut at the same
 * amount of work. Wall time is bounded by the webhook's own deadline.
 */
export const budgetClock: () => number = threadCpuUsage
  ? () => {
      const usage = threadCpuUsage.call(process);
      return (usage.user + usage.system) / 1000;
    }
  : () => performance.now();

/**
 * With the default (CPU) clock, wall time is capped too, at this multiple of the budget: a thread starved of
 * CPU on an overloaded node still gives up in bounded time (fail-closed: "too complex").
 */
export const WALL_CEILING_FACTOR = 3;

export function startBudget(options: ContainmentOptions = {}): Budget {
  const now = options.now ?? budgetClock;
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  const deadline = now() + budgetMs;
  const wallDeadline =
    options.now === undefined ? performance.now() + budgetMs * WALL_CEILING_FACTOR : Number.POSITIVE_INFINITY;
  return {
    maxStates: options.maxStates ?? DEFAULT_MAX_STATES,
    checkBudget: () => {
      if (now() > deadline) throw new ComplexityExceeded(`the check ran out of its ${budgetMs} ms budget`);
      if (performance.now() > wallDeadline)
        throw new ComplexityExceeded(
          `the check ran out of its ${budgetMs} ms budget (${budgetMs * WALL_CEILING_FACTOR} ms of wall time)`,
        );
    },
  };
}

/**
 * Decides whether every string the `submitted` Go regex accepts (unanchored) is also accepted by the
 * `allowed` one. Patterns may be given as text or pre-compiled with `compileGoRegex`.
 */
export function checkContainment(
  submitted: string | GoRegex,
  allowed: string | GoRegex,
  options: ContainmentOptions = {},
): ContainmentResult {
  const left = toRegex(submitted);
  if (!left.ok) return { result: 'invalid', side: 'submitted', message: left.message };
  const right = toRegex(allowed);
  if (!right.ok) return { result: 'invalid', side: 'allowed', message: right.message };
  return containsWithin(left.regex, right.regex, startBudget(options));
}

/** The answers possible once both regexes compiled. */
export type DecidedContainment = Exclude<ContainmentResult, { result: 'invalid' }>;

/** `checkContainment` on compiled regexes within an already running budget. */
export function containsWithin(submitted: GoRegex, allowed: GoRegex, budget: Budget): DecidedContainment {
  for (const regex of [submitted, allowed]) {
    if (regex.program.insts.length > MAX_PROGRAM_SIZE) {
      return { result: 'too-complex', reason: `the regexp compiles to more than ${MAX_PROGRAM_SIZE} instructions` };
    }
  }
  try {
    const word = findCounterexample(submitted, allowed, budget);
    if (word === undefined) return { result: 'contained' };
    return confirmed(submitted, allowed, String.fromCodePoint(...word));
  } catch (error) {
    if (error instanceof ComplexityExceeded) return { result: 'too-complex', reason: error.message };
    if (error instanceof TooManyNodesError) {
      return { result: 'too-complex', reason: `the product automaton needs more than ${budget.maxStates} states` };
    }
    throw error;
  }
}

function toRegex(pattern: string | GoRegex): ReturnType<typeof compileGoRegex> {
  return typeof pattern === 'string' ? compileGoRegex(pattern) : { ok: true, regex: pattern };
}

function findCounterexample(submitted: GoRegex, allowed: GoRegex, budget: Budget): number[] | undefined {
  const limits: ConstructionLimits = { maxStates: budget.maxStates, checkBudget: budget.checkBudget };
  const accepts = new SearchAutomaton(submitted.program, limits).transitionIterator();
  const rejects = complement(new SearchAutomaton(allowed.program, limits));
  const product = FAIterators.intersection(new FAIterators.MapFABuilder(budget.maxStates), accepts, rejects);
  return cheapestAcceptingWord(
    { initial: product.initial, getOut: (state) => product.getOut(state), isFinal: (state) => product.isFinal(state) },
    budget.checkBudget,
  );
}

/**
 * The complement of a complete DFA flips its final states. Once the allowed side has matched, it accepts
 * every continuation, so in the complement that sink is dead: giving it no transitions keeps the product
 * from exploring futures that can never yield a counterexample.
 */
function complement(automaton: SearchAutomaton): TransitionIterator<SearchState> {
  const none: ReadonlyMap<SearchState, CharSet> = new Map();
  return {
    initial: automaton.initial,
    getOut: (state) => (state.acceptsEverything ? none : automaton.out(state)),
    isFinal: (state) => !automaton.isFinal(state),
    stableOut: true,
  };
}

/** Belt and braces: the answer must separate the two regexes when run by the real matcher. */
function confirmed(submitted: GoRegex, allowed: GoRegex, counterexample: string): DecidedContainment {
  if (submitted.matchString(counterexample) && !allowed.matchString(counterexample)) {
    return { result: 'not-contained', counterexample };
  }
  return {
    result: 'too-complex',
    reason: `internal inconsistency: candidate counterexample ${JSON.stringify(counterexample)} did not separate the regexps`,
  };
}
