/**
 * Provable keyless-identity policy. Flux matches `matchOIDCIdentity[].issuer`/`.subject` with Go's
 * `regexp` (RE2 syntax) and unanchored `MatchString`; this module parses such patterns exactly as Go does
 * (via re2js), turns each into the DFA of "some substring matches" over Unicode code points, and decides
 * language inclusion against the policy's allowed regexes with refa — answering "contained", or
 * "not-contained" with a short, readable string the submitted regex accepts and the policy rejects
 * (re-checked with re2js), or "too-complex" when a state limit or time budget is hit, never hanging.
 * Pure code: no I/O; the only clock is an injectable monotonic one for the budget. This file is the
 * folder's only public surface.
 */
export { compileGoRegex } from './go-program.ts';
export type { CompileResult, GoRegex } from './go-program.ts';
export {
  budgetClock,
  checkContainment,
  DEFAULT_BUDGET_MS,
  DEFAULT_MAX_STATES,
  WALL_CEILING_FACTOR,
} from './containment.ts';
export type { ContainmentOptions, ContainmentResult } from './containment.ts';
export { checkIdentity, describeFieldProblem, IDENTITY_FIELDS, quotePattern } from './identities.ts';
export type { FieldProblem, IdentityCheck, IdentityField, IdentityRegexes } from './identities.ts';
