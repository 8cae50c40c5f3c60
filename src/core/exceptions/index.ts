/**
 * SourcePolicyException: waivers of named rule ids for named Flux sources, with a reason and an expiry.
 * Pure: the clock is injected (`ExceptionSet.now`). See README.md.
 */
export { applyExceptions, expiredExceptions, isExpired } from './apply.ts';
export type { ExceptionOutcome } from './apply.ts';
export { loadExceptions, WAIVABLE_RULE_IDS } from './load.ts';
export type { ExceptionObject, ExceptionSet, ExpiredException, SourcePolicyException, WaivedFinding } from './types.ts';
