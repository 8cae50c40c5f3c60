/**
 * Go regexp semantics for every user-supplied pattern (matchOIDCIdentity, semverFilter, policy identities):
 * RE2 syntax via re2js, linear time, and `matches` is Go's unanchored MatchString. Never JS RegExp here:
 * its syntax differs silently and it backtracks (ReDoS) on untrusted input.
 */
import { RE2JS } from 're2js';

const COMPILED_CACHE_LIMIT = 1024;
const compiled = new Map<string, RE2JS>();

function compile(pattern: string): RE2JS {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  const regex = RE2JS.compile(pattern);
  if (compiled.size >= COMPILED_CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  compiled.set(pattern, regex);
  return regex;
}

/** Go's error text for a pattern Go would reject, or undefined when it compiles. */
export function goRegexSyntaxError(pattern: string): string | undefined {
  try {
    compile(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Go `regexp.MustCompile(pattern).MatchString(value)`: true when any substring matches. */
export function goRegexMatches(pattern: string, value: string): boolean {
  return compile(pattern).test(value);
}
