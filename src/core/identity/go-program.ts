/**
 * Go regexp → instruction program. `parseGoRegex` (core/go-regex.ts) has re2js (a port of RE2/J, which
 * mirrors Go's regexp/syntax) parse, simplify and compile the pattern exactly as Go does; we read its program (`re2Input.prog`,
 * a public field of the typed API) and copy it into our own small, typed instruction list with every
 * character set resolved to a refa CharSet over Unicode code points. Flags, case folding, POSIX/Unicode
 * classes, `\Q…\E` and repeats are therefore already applied by the same code that matches at runtime.
 */
import { RE2JS } from 're2js';
import { CharSet } from 'refa';
import { parseGoRegex } from '../go-regex.ts';

export const MAX_RUNE = 0x10ffff;

/** Go strings are UTF-8: a surrogate code point can never be decoded, so it is not part of the alphabet. */
const SURROGATES = CharSet.fromRange(MAX_RUNE, { min: 0xd800, max: 0xdfff });
export const ALPHABET = CharSet.all(MAX_RUNE).without(SURROGATES);
const NEWLINE = 0x0a;

/** Go's syntax.EmptyOp bits, the argument of an assertion instruction. */
export const EMPTY = {
  BEGIN_LINE: 1,
  END_LINE: 2,
  BEGIN_TEXT: 4,
  END_TEXT: 8,
  WORD_BOUNDARY: 16,
  NO_WORD_BOUNDARY: 32,
} as const;
const KNOWN_EMPTY_BITS = 63;

/** re2js's Inst.op numbers; a unit test pins them against the installed re2js. */
export const RE2JS_OP = {
  ALT: 1,
  ALT_MATCH: 2,
  CAPTURE: 3,
  EMPTY_WIDTH: 4,
  FAIL: 5,
  MATCH: 6,
  NOP: 7,
  RUNE: 8,
  RUNE1: 9,
  RUNE_ANY: 10,
  RUNE_ANY_NOT_NL: 11,
} as const;
const FOLD_CASE_FLAG = 1;

export type Inst =
  | { readonly kind: 'split'; readonly next: readonly [number, number] }
  | { readonly kind: 'goto'; readonly next: number }
  | { readonly kind: 'assert'; readonly empty: number; readonly next: number }
  | { readonly kind: 'rune'; readonly chars: CharSet; readonly next: number }
  | { readonly kind: 'match' }
  | { readonly kind: 'fail' };

/** A Thompson program: Go's matcher runs exactly this, so its language is the regex's language. */
export interface GoProgram {
  readonly insts: readonly Inst[];
  /** Entry points; the program matches when any of them does (more than one only for unions). */
  readonly starts: readonly number[];
  /** OR of every assertion's EMPTY bits, so the automaton only tracks the context that matters. */
  readonly assertions: number;
}

/** A compiled Go regular expression. */
export interface GoRegex {
  /** The pattern as written (for unions: the patterns joined with " | ", display only). */
  readonly source: string;
  /** Go's `regexp.MatchString`: true when any substring of `value` matches. Linear time. */
  readonly matchString: (value: string) => boolean;
  readonly program: GoProgram;
}

export type CompileResult =
  { readonly ok: true; readonly regex: GoRegex } | { readonly ok: false; readonly message: string };

/** The shape of re2js's internal instruction that we read. */
interface RawInst {
  op: number;
  out: number;
  arg: number;
  runes: ArrayLike<number>;
}

class UnexpectedProgram extends Error {}

/**
 * Reads a pattern with `parseGoRegex` (core/go-regex.ts, the one reader: Go's syntax and Go's error text) and
 * turns the program re2js compiled into ours.
 */
export function compileGoRegex(pattern: string): CompileResult {
  const parsed = parseGoRegex(pattern);
  if (!parsed.ok) return parsed;
  const compiled = parsed.re2;
  try {
    const program = readProgram(compiled);
    return { ok: true, regex: { source: pattern, matchString: (value) => compiled.test(value), program } };
  } catch (error) {
    if (!(error instanceof UnexpectedProgram)) throw error;
    return { ok: false, message: `pinwarden cannot analyse this regexp (${error.message}); please report it` };
  }
}

/** The union of several regexes: matches when any of them does. Used to ask "does ANY allowed identity accept s". */
export function unionOf(regexes: readonly GoRegex[]): GoRegex {
  const insts: Inst[] = [];
  const starts: number[] = [];
  let assertions = 0;
  for (const { program } of regexes) {
    const offset = insts.length;
    for (const inst of program.insts) insts.push(shiftInst(inst, offset));
    for (const start of program.starts) starts.push(start + offset);
    assertions |= program.assertions;
  }
  return {
    source: regexes.map((regex) => regex.source).join(' | '),
    matchString: (value) => regexes.some((regex) => regex.matchString(value)),
    program: { insts, starts, assertions },
  };
}

function shiftInst(inst: Inst, offset: number): Inst {
  switch (inst.kind) {
    case 'split':
      return { kind: 'split', next: [inst.next[0] + offset, inst.next[1] + offset] };
    case 'goto':
    case 'assert':
    case 'rune':
      return { ...inst, next: inst.next + offset };
    case 'match':
    case 'fail':
      return inst;
  }
}

function readProgram(compiled: RE2JS): GoProgram {
  const prog = (compiled.re2Input as { prog?: { inst?: unknown; start?: unknown } } | undefined)?.prog;
  if (!prog || !Array.isArray(prog.inst) || typeof prog.start !== 'number') {
    throw new UnexpectedProgram('re2js program not found');
  }
  const raw = prog.inst as RawInst[];
  const insts = raw.map((inst) => translateInst(inst, raw.length));
  let assertions = 0;
  for (const inst of insts) if (inst.kind === 'assert') assertions |= inst.empty;
  return { insts, starts: [prog.start], assertions };
}

function translateInst(inst: RawInst, count: number): Inst {
  const target = (pc: unknown): number => {
    if (typeof pc !== 'number' || !Number.isInteger(pc) || pc < 0 || pc >= count) {
      throw new UnexpectedProgram(`instruction target ${String(pc)} out of range`);
    }
    return pc;
  };
  switch (inst.op) {
    case RE2JS_OP.ALT:
    case RE2JS_OP.ALT_MATCH:
      return { kind: 'split', next: [target(inst.out), target(inst.arg)] };
    case RE2JS_OP.CAPTURE:
    case RE2JS_OP.NOP:
      return { kind: 'goto', next: target(inst.out) };
    case RE2JS_OP.EMPTY_WIDTH:
      if ((inst.arg & ~KNOWN_EMPTY_BITS) !== 0) throw new UnexpectedProgram(`unknown assertion ${inst.arg}`);
      return { kind: 'assert', empty: inst.arg, next: target(inst.out) };
    case RE2JS_OP.MATCH:
      return { kind: 'match' };
    case RE2JS_OP.FAIL:
      return { kind: 'fail' };
    case RE2JS_OP.RUNE:
    case RE2JS_OP.RUNE1:
      return { kind: 'rune', chars: runeSet(inst), next: target(inst.out) };
    case RE2JS_OP.RUNE_ANY:
      return { kind: 'rune', chars: ALPHABET, next: target(inst.out) };
    case RE2JS_OP.RUNE_ANY_NOT_NL:
      return { kind: 'rune', chars: ALPHABET.without({ min: NEWLINE, max: NEWLINE }), next: target(inst.out) };
    default:
      throw new UnexpectedProgram(`unknown instruction op ${inst.op}`);
  }
}

/** re2js shares one rune array between repeated copies of a class (x{1000}): convert each array once. */
const runeSetCache = new WeakMap<object, CharSet>();

function runeSet(inst: RawInst): CharSet {
  const { runes } = inst;
  if (runes.length === 1) {
    const rune = runes[0] ?? -1;
    const folds = inst.op === RE2JS_OP.RUNE && (inst.arg & FOLD_CASE_FLAG) !== 0;
    return folds ? caseFoldOrbit(rune) : rangesToCharSet([rune, rune]);
  }
  const cached = runeSetCache.get(runes);
  if (cached) return cached;
  const chars = rangesToCharSet(runes);
  runeSetCache.set(runes, chars);
  return chars;
}

function rangesToCharSet(runes: ArrayLike<number>): CharSet {
  if (runes.length % 2 !== 0) throw new UnexpectedProgram('odd rune range list');
  const ranges: { min: number; max: number }[] = [];
  for (let i = 0; i < runes.length; i += 2) {
    const min = runes[i] ?? -1;
    const max = runes[i + 1] ?? -1;
    if (!(min >= 0 && min <= max && max <= MAX_RUNE)) throw new UnexpectedProgram(`bad rune range ${min}-${max}`);
    ranges.push({ min, max });
  }
  return CharSet.empty(MAX_RUNE).union(ranges).without(SURROGATES);
}

const foldOrbitCache = new Map<number, CharSet>();

/**
 * Go matches a case-folded literal against its whole simple-folding orbit (k, K and U+212A KELVIN SIGN).
 * re2js keeps such literals as one rune plus a flag, but folds character classes into explicit ranges
 * while parsing, so a class built from the rune yields the orbit computed by the very same Unicode tables.
 * NUL rides along (and is removed again) because Go's parser turns a bare two-rune orbit class like `[Aa]`
 * back into a folded literal.
 */
function caseFoldOrbit(rune: number): CharSet {
  const cached = foldOrbitCache.get(rune);
  if (cached) return cached;
  const probe = RE2JS.compile(`(?i)[\\x00\\x{${rune.toString(16)}}]`);
  const prog = (probe.re2Input as { prog?: { inst?: RawInst[] } } | undefined)?.prog;
  const runeInsts = (prog?.inst ?? []).filter((inst) => inst.op === RE2JS_OP.RUNE);
  const only = runeInsts[0];
  if (runeInsts.length !== 1 || !only || only.runes.length < 4) throw new UnexpectedProgram('case-fold probe');
  const orbit = rangesToCharSet(only.runes).without({ min: 0, max: 0 });
  if (!orbit.has(rune)) throw new UnexpectedProgram('case-fold probe lost the rune');
  foldOrbitCache.set(rune, orbit);
  return orbit;
}
