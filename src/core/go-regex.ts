/**
 * Go regexp semantics for every user-supplied pattern (matchOIDCIdentity, policy identities, claim patterns).
 * `parseGoRegex` is the one reader of a pattern: re2js (a port of RE2/J, which mirrors Go's regexp/syntax)
 * parses, simplifies and compiles it exactly as Go does, and gives Go's own error text for a pattern Go
 * rejects. Everything else builds on its result: the cached syntax checks and matching here, and the
 * identity module's inclusion proofs, which read the program re2js compiled (`core/identity`, go-program.ts)
 * and only there load refa, so a command that only matches (`pull`, `verify`) never loads the automata
 * library. `goRegexMatches` is Go's unanchored MatchString. Never JS RegExp here: its syntax differs silently
 * and it backtracks (ReDoS) on untrusted input.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';

/** A pattern as Go reads it: the compiled re2js program, or Go's error message. */
export type ParsedGoRegex =
  { readonly ok: true; readonly re2: RE2JS } | { readonly ok: false; readonly message: string };

/**
 * Parses `pattern` with Go's RE2 syntax. A pattern Go rejects gives Go's own message, e.g.
 * "error parsing regexp: invalid or unsupported Perl syntax: `(?=`". Not cached (see the facade below).
 */
export function parseGoRegex(pattern: string): ParsedGoRegex {
  const encodingError = invalidUtf8(pattern);
  if (encodingError) return { ok: false, message: encodingError };
  try {
    return { ok: true, re2: RE2JS.compile(pattern) };
  } catch (error) {
    if (error instanceof RE2JSSyntaxException) return { ok: false, message: error.message };
    return { ok: false, message: `error parsing regexp: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Go patterns are UTF-8, where a lone surrogate cannot exist; re2js would silently accept one. Same
 * message shape as Go's parser (the rest of the pattern from the bad character, shown with U+FFFD).
 */
function invalidUtf8(pattern: string): string | undefined {
  if (pattern.isWellFormed()) return undefined;
  let index = 0;
  for (const char of pattern) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) break;
    index += char.length;
  }
  return `error parsing regexp: invalid UTF-8: \`${pattern.slice(index).toWellFormed()}\``;
}

const PARSED_CACHE_LIMIT = 1024;
/** Programs of counted Unicode classes are big (x{1000} of a class is thousands of instructions): bounded in bytes too. */
const PARSED_CACHE_BYTES = 32 * 1024 * 1024;
const parsed = new Map<string, { result: ParsedGoRegex; bytes: number }>();
let parsedBytes = 0;

/** The shape of re2js's compiled program that the size estimate reads (`re2Input.prog`, a public field). */
interface RawProgram {
  inst?: ReadonlyArray<{ runes?: ArrayLike<number> }>;
}

/**
 * An upper estimate of what a parsed pattern holds: each instruction's object and its rune ranges (re2js
 * shares one rune array between repeated copies of a class; counting it per copy only overestimates).
 */
function estimatedBytes(pattern: string, result: ParsedGoRegex): number {
  let bytes = pattern.length * 2 + 512;
  if (!result.ok) return bytes;
  const program = (result.re2.re2Input as { prog?: RawProgram } | undefined)?.prog;
  for (const inst of program?.inst ?? []) bytes += 96 + 8 * (inst.runes?.length ?? 0);
  return bytes;
}

function parse(pattern: string): ParsedGoRegex {
  const cached = parsed.get(pattern);
  if (cached) return cached.result;
  const result = parseGoRegex(pattern);
  const bytes = estimatedBytes(pattern, result);
  if (bytes > PARSED_CACHE_BYTES) return result;
  while (parsed.size > 0 && (parsed.size >= PARSED_CACHE_LIMIT || parsedBytes + bytes > PARSED_CACHE_BYTES)) {
    const oldest = parsed.keys().next().value as string;
    parsedBytes -= parsed.get(oldest)?.bytes ?? 0;
    parsed.delete(oldest);
  }
  parsed.set(pattern, { result, bytes });
  parsedBytes += bytes;
  return result;
}

/** Syntax verdicts computed elsewhere (the webhook's identity worker), so this thread need not compile. */
const SYNTAX_VERDICT_LIMIT = 4096;
const syntaxVerdicts = new Map<string, string | null>();

/** Records what compiling `pattern` gave in another thread: its Go error text, or undefined when it compiles. */
export function rememberSyntaxVerdict(pattern: string, error: string | undefined): void {
  if (syntaxVerdicts.size >= SYNTAX_VERDICT_LIMIT) syntaxVerdicts.delete(syntaxVerdicts.keys().next().value as string);
  syntaxVerdicts.set(pattern, error ?? null);
}

/** Go's error text for a pattern Go would reject, or undefined when it compiles. */
export function goRegexSyntaxError(pattern: string): string | undefined {
  const known = syntaxVerdicts.get(pattern);
  if (known !== undefined) return known ?? undefined;
  const result = parse(pattern);
  return result.ok ? undefined : result.message;
}

/** Go `regexp.MustCompile(pattern).MatchString(value)`; a pattern that does not compile matches nothing. */
export function goRegexMatches(pattern: string, value: string): boolean {
  const result = parse(pattern);
  return result.ok && result.re2.test(value);
}
