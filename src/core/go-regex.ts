/**
 * Go regexp semantics for every user-supplied pattern (matchOIDCIdentity, policy identities): a cached
 * facade over the identity module's compiler, so syntax checks, matching and inclusion proofs all read a
 * pattern exactly the same way. `goRegexMatches` is Go's unanchored MatchString. Never JS RegExp here: its
 * syntax differs silently and it backtracks (ReDoS) on untrusted input.
 */
import { compileGoRegex, type CompileResult } from './identity/index.ts';

const COMPILED_CACHE_LIMIT = 1024;
/** Compiled programs are big (a 1 KiB pattern of counted Unicode classes ≈ 170 KiB): the cache is bounded in bytes too. */
const COMPILED_CACHE_BYTES = 32 * 1024 * 1024;
/** Measured: about 170 bytes per program instruction, class tables included. */
const BYTES_PER_INSTRUCTION = 192;
const compiled = new Map<string, { result: CompileResult; bytes: number }>();
let compiledBytes = 0;

function compile(pattern: string): CompileResult {
  const cached = compiled.get(pattern);
  if (cached) return cached.result;
  const result = compileGoRegex(pattern);
  const bytes = pattern.length * 2 + 256 + (result.ok ? result.regex.program.insts.length * BYTES_PER_INSTRUCTION : 0);
  if (bytes > COMPILED_CACHE_BYTES) return result;
  while (compiled.size > 0 && (compiled.size >= COMPILED_CACHE_LIMIT || compiledBytes + bytes > COMPILED_CACHE_BYTES)) {
    const oldest = compiled.keys().next().value as string;
    compiledBytes -= compiled.get(oldest)?.bytes ?? 0;
    compiled.delete(oldest);
  }
  compiled.set(pattern, { result, bytes });
  compiledBytes += bytes;
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
