/**
 * Go regexp semantics for every user-supplied pattern (matchOIDCIdentity, policy identities): a cached
 * facade over the identity module's compiler, so syntax checks, matching and inclusion proofs all read a
 * pattern exactly the same way. `goRegexMatches` is Go's unanchored MatchString. Never JS RegExp here: its
 * syntax differs silently and it backtracks (ReDoS) on untrusted input.
 */
import { compileGoRegex, type CompileResult } from './identity/index.ts';

const COMPILED_CACHE_LIMIT = 1024;
const compiled = new Map<string, CompileResult>();

function compile(pattern: string): CompileResult {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  const result = compileGoRegex(pattern);
  if (compiled.size >= COMPILED_CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  compiled.set(pattern, result);
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
  const result = compile(pattern);
  return result.ok ? undefined : result.message;
}

/** Go `regexp.MustCompile(pattern).MatchString(value)`; a pattern that does not compile matches nothing. */
export function goRegexMatches(pattern: string, value: string): boolean {
  const result = compile(pattern);
  return result.ok && result.regex.matchString(value);
}
