/**
 * The DFA of Go's unanchored `MatchString`: it reads a whole string and accepts iff some substring
 * matches the program, with `^`/`\A` pinned to the start of the text, `$`/`\z` to its end, `(?m)` line
 * anchors and `\b`/`\B` evaluated against the neighbouring characters of the text — all exactly.
 *
 * It is built lazily, the way RE2's own DFA runs: a state is the set of program counters waiting for the
 * next character plus what the previous character was (start of text, newline, word character, other).
 * Assertions sit between two characters, so their epsilon-closure is taken only once the next character
 * (or the end of the text) is known. The search is unanchored because the program's entry points are
 * re-injected before every character; once any thread reaches MATCH the rest of the text is irrelevant
 * and the automaton moves to an accept-everything sink.
 *
 * The automaton is exposed as a refa `TransitionIterator`, so refa can materialise, intersect or
 * complement it.
 */
import { CharBase, CharSet } from 'refa';
import type { TransitionIterable, TransitionIterator } from 'refa';
import { ALPHABET, EMPTY, MAX_RUNE } from './go-program.ts';
import type { GoProgram, Inst } from './go-program.ts';

/** What the previous character was; only the distinctions a program's assertions can see are kept. */
const CONTEXT = { START: 0, NEWLINE: 1, WORD: 2, OTHER: 3 } as const;
type Context = (typeof CONTEXT)[keyof typeof CONTEXT];

export interface SearchState {
  readonly id: number;
  /** Sorted program counters reached by the previous character; empty for the accept sink. */
  readonly pcs: readonly number[];
  readonly context: Context;
  readonly acceptsEverything: boolean;
}

/** Thrown inside the lazy construction (refa's iterator protocol has no error channel); caught by the caller. */
export class ComplexityExceeded extends Error {}

export interface ConstructionLimits {
  readonly maxStates: number;
  /** Throws ComplexityExceeded when the time budget is spent. */
  readonly checkBudget: () => void;
}

interface CharGroup {
  readonly chars: CharSet;
  /** The context after reading a character of this group. */
  readonly context: Context;
}

const NEWLINE_CHAR = CharSet.fromCharacter(MAX_RUNE, 0x0a);
/** Go's `\b` word characters are ASCII only: [0-9A-Za-z_]. */
const WORD_CHARS = CharSet.empty(MAX_RUNE).union([
  { min: 0x30, max: 0x39 },
  { min: 0x41, max: 0x5a },
  { min: 0x5f, max: 0x5f },
  { min: 0x61, max: 0x7a },
]);
const LINE_ASSERTIONS = EMPTY.BEGIN_LINE | EMPTY.END_LINE;
const WORD_ASSERTIONS = EMPTY.WORD_BOUNDARY | EMPTY.NO_WORD_BOUNDARY;

interface Closure {
  readonly matched: boolean;
  /** Sorted program counters of the rune instructions reached. */
  readonly runePcs: readonly number[];
}

/** A class of characters no set in play distinguishes, with the ids of the sets that contain it. */
interface CharClass {
  readonly chars: CharSet;
  readonly setIds: readonly number[];
}

/** One transition target of a partition: the characters and the program counters they lead to. */
interface Move {
  readonly chars: CharSet;
  readonly pcs: readonly number[];
}

export class SearchAutomaton implements TransitionIterable<SearchState> {
  readonly maxCharacter = MAX_RUNE;
  readonly initial: SearchState;
  readonly acceptSink: SearchState;
  private readonly program: GoProgram;
  private readonly limits: ConstructionLimits;
  private readonly groups: readonly CharGroup[];
  private readonly states = new Map<string, SearchState>();
  private readonly outs = new Map<SearchState, ReadonlyMap<SearchState, CharSet>>();
  private readonly finals = new Map<SearchState, boolean>();
  private readonly classCache = new Map<string, readonly CharClass[]>();
  /** Distinct character sets of the program's rune instructions, and each instruction's index into it. */
  private readonly sets: readonly CharSet[];
  private readonly setIds: Int32Array;
  private readonly visited: Uint32Array;
  private stamp = 0;
  private readonly sinkOut: ReadonlyMap<SearchState, CharSet>;

  constructor(program: GoProgram, limits: ConstructionLimits) {
    this.program = program;
    this.limits = limits;
    this.groups = charGroups(program.assertions);
    this.visited = new Uint32Array(program.insts.length);
    ({ sets: this.sets, setIds: this.setIds } = indexCharSets(program));
    this.acceptSink = { id: 0, pcs: [], context: CONTEXT.OTHER, acceptsEverything: true };
    this.sinkOut = new Map([[this.acceptSink, ALPHABET]]);
    this.initial = this.intern([], CONTEXT.START);
  }

  get stateCount(): number {
    return this.states.size;
  }

  /** refa view: a deterministic, complete (over the Go alphabet) transition iterator. */
  transitionIterator(): TransitionIterator<SearchState> {
    return {
      initial: this.initial,
      getOut: (state) => this.out(state),
      isFinal: (state) => this.isFinal(state),
      stableOut: true,
    };
  }

  /** Accepts iff some substring of the text read so far (the text ends here) matches. */
  isFinal(state: SearchState): boolean {
    if (state.acceptsEverything) return true;
    let final = this.finals.get(state);
    if (final === undefined) {
      final = this.closure(state.pcs, boundary(state.context, 'end')).matched;
      this.finals.set(state, final);
    }
    return final;
  }

  out(state: SearchState): ReadonlyMap<SearchState, CharSet> {
    if (state.acceptsEverything) return this.sinkOut;
    let out = this.outs.get(state);
    if (!out) {
      out = this.computeOut(state);
      this.outs.set(state, out);
    }
    return out;
  }

  /** Runs the automaton on a string (code points); used by tests to compare against re2js. */
  accepts(text: string): boolean {
    let state = this.initial;
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0;
      const next = [...this.out(state)].find(([, chars]) => chars.has(code));
      if (!next) return false;
      state = next[0];
    }
    return this.isFinal(state);
  }

  private computeOut(state: SearchState): Map<SearchState, CharSet> {
    const out = new Map<SearchState, CharSet>();
    const add = (target: SearchState, chars: CharSet): void => {
      const existing = out.get(target);
      out.set(target, existing ? existing.union(chars) : chars);
    };
    this.groups.forEach((group, index) => {
      const closure = this.closure(state.pcs, boundary(state.context, group.context));
      if (closure.matched) {
        add(this.acceptSink, group.chars);
        return;
      }
      for (const move of this.partition(closure.runePcs, index)) add(this.intern(move.pcs, group.context), move.chars);
    });
    return out;
  }

  /** Splits a character group into classes that lead to the same program counters. */
  private partition(runePcs: readonly number[], groupIndex: number): Move[] {
    const targetsBySet = new Map<number, number[]>();
    for (const pc of runePcs) {
      const setId = this.setIds[pc] ?? 0;
      const next = this.runeInst(pc).next;
      const targets = targetsBySet.get(setId);
      if (targets) targets.push(next);
      else targetsBySet.set(setId, [next]);
    }
    const moves: Move[] = [];
    for (const { chars, setIds } of this.classes(groupIndex, [...targetsBySet.keys()].sort(byNumber))) {
      const pcs = setIds.flatMap((setId) => targetsBySet.get(setId) ?? []);
      moves.push({ chars, pcs: this.sortedUnique(pcs) });
    }
    return moves;
  }

  /**
   * The coarsest split of a group that no character set in play cuts through, each class with the sets
   * containing it. It depends only on which distinct sets are in play, so it is cached by their ids.
   */
  private classes(groupIndex: number, setIds: readonly number[]): readonly CharClass[] {
    const key = `${groupIndex}|${setIds.join(',')}`;
    const cached = this.classCache.get(key);
    if (cached) return cached;
    const group = this.groups[groupIndex]?.chars ?? ALPHABET;
    const sets = setIds.map((setId) => ({ setId, chars: this.sets[setId] ?? ALPHABET }));
    const inGroup = sets.map(({ chars }) => chars.intersect(group)).filter((chars) => !chars.isEmpty);
    const classes = new CharBase([group, ...inGroup]).sets.map((chars) => {
      const probe = chars.ranges[0]?.min ?? 0;
      return { chars, setIds: sets.filter((set) => set.chars.has(probe)).map((set) => set.setId) };
    });
    this.classCache.set(key, classes);
    return classes;
  }

  private runeInst(pc: number): Extract<Inst, { kind: 'rune' }> {
    const inst = this.program.insts[pc];
    if (inst?.kind !== 'rune') throw new Error(`program counter ${pc} is not a rune instruction`);
    return inst;
  }

  /** Epsilon-closure of the waiting threads plus fresh threads at the entry points (the unanchored search). */
  private closure(pcs: readonly number[], empty: number): Closure {
    const { insts } = this.program;
    const stamp = this.nextStamp();
    const stack = [...pcs, ...this.program.starts];
    const runePcs: number[] = [];
    let matched = false;
    while (stack.length > 0) {
      const pc = stack.pop() ?? 0;
      if (this.visited[pc] === stamp) continue;
      this.visited[pc] = stamp;
      const inst = insts[pc];
      switch (inst?.kind) {
        case 'split':
          stack.push(inst.next[1], inst.next[0]);
          break;
        case 'goto':
          stack.push(inst.next);
          break;
        case 'assert':
          if ((inst.empty & ~empty) === 0) stack.push(inst.next);
          break;
        case 'rune':
          runePcs.push(pc);
          break;
        case 'match':
          matched = true;
          break;
        case 'fail':
        case undefined:
          break;
      }
    }
    return { matched, runePcs: runePcs.sort(byNumber) };
  }

  /** Sorted, duplicate-free copy; program counters are small integers, so a stamped bitmap dedupes. */
  private sortedUnique(values: readonly number[]): number[] {
    const stamp = this.nextStamp();
    const unique: number[] = [];
    for (const value of values) {
      if (this.visited[value] === stamp) continue;
      this.visited[value] = stamp;
      unique.push(value);
    }
    return unique.sort(byNumber);
  }

  /** A fresh mark for `visited`, so no per-call Set is allocated. */
  private nextStamp(): number {
    this.stamp += 1;
    if (this.stamp === 0xffffffff) {
      this.visited.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  private intern(pcs: readonly number[], context: Context): SearchState {
    const normalized = this.normalize(context);
    const key = `${normalized}:${pcs.join(',')}`;
    const existing = this.states.get(key);
    if (existing) return existing;
    if (this.states.size >= this.limits.maxStates) {
      throw new ComplexityExceeded(`the automaton needs more than ${this.limits.maxStates} states`);
    }
    this.limits.checkBudget();
    const state: SearchState = { id: this.states.size + 1, pcs, context: normalized, acceptsEverything: false };
    this.states.set(key, state);
    return state;
  }

  /** Forgets distinctions no assertion of the program can observe, so equal futures share one state. */
  private normalize(context: Context): Context {
    const used = this.program.assertions;
    // For \b the start of the text and a newline are plain non-word characters.
    const seesStart = (used & (EMPTY.BEGIN_TEXT | EMPTY.BEGIN_LINE)) !== 0;
    const seesNewline = (used & EMPTY.BEGIN_LINE) !== 0;
    const seesWord = (used & WORD_ASSERTIONS) !== 0;
    if (context === CONTEXT.START && !seesStart) return CONTEXT.OTHER;
    if (context === CONTEXT.NEWLINE && !seesNewline) return CONTEXT.OTHER;
    if (context === CONTEXT.WORD && !seesWord) return CONTEXT.OTHER;
    return context;
  }
}

/** Numbers the distinct CharSet objects of a program (repeats like x{1000} share one object). */
function indexCharSets(program: GoProgram): { sets: CharSet[]; setIds: Int32Array } {
  const sets: CharSet[] = [];
  const idOf = new Map<CharSet, number>();
  const setIds = new Int32Array(program.insts.length);
  program.insts.forEach((inst, pc) => {
    if (inst.kind !== 'rune') return;
    let id = idOf.get(inst.chars);
    if (id === undefined) {
      id = sets.length;
      sets.push(inst.chars);
      idOf.set(inst.chars, id);
    }
    setIds[pc] = id;
  });
  return { sets, setIds };
}

/** The character groups whose members can change which assertions hold (newline, word characters). */
function charGroups(assertions: number): readonly CharGroup[] {
  const groups: CharGroup[] = [];
  let rest = ALPHABET;
  if ((assertions & LINE_ASSERTIONS) !== 0) {
    groups.push({ chars: NEWLINE_CHAR, context: CONTEXT.NEWLINE });
    rest = rest.without(NEWLINE_CHAR);
  }
  if ((assertions & WORD_ASSERTIONS) !== 0) {
    groups.push({ chars: WORD_CHARS, context: CONTEXT.WORD });
    rest = rest.without(WORD_CHARS);
  }
  groups.push({ chars: rest, context: CONTEXT.OTHER });
  return groups;
}

/** Go's syntax.EmptyOpContext: the assertions that hold between the previous and the next character. */
function boundary(previous: Context, next: Context | 'end'): number {
  let empty = 0;
  if (previous === CONTEXT.START) empty |= EMPTY.BEGIN_TEXT | EMPTY.BEGIN_LINE;
  if (previous === CONTEXT.NEWLINE) empty |= EMPTY.BEGIN_LINE;
  if (next === 'end') empty |= EMPTY.END_TEXT | EMPTY.END_LINE;
  if (next === CONTEXT.NEWLINE) empty |= EMPTY.END_LINE;
  const wordBefore = previous === CONTEXT.WORD;
  const wordAfter = next === CONTEXT.WORD;
  empty |= wordBefore === wordAfter ? EMPTY.NO_WORD_BOUNDARY : EMPTY.WORD_BOUNDARY;
  return empty;
}

function byNumber(a: number, b: number): number {
  return a - b;
}
