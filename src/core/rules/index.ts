/**
 * The ordered rule registry: one rule per file, each with a stable id. The webhook, `check` and the
 * controller all run exactly these, so one rule has one implementation.
 */
import { bucketIgnoreRequired } from './bucket-ignore-required.ts';
import { bucketInsecureNotAllowed } from './bucket-insecure-not-allowed.ts';
import { commitBindingAnnotation } from './commit-binding-annotation.ts';
import { digestRequired } from './digest-required.ts';
import { identityRules } from './identity-rules.ts';
import { inputTooLarge } from './input-too-large.ts';
import { insecureNotAllowed } from './insecure-not-allowed.ts';
import { keyBasedNotAllowed } from './key-based-not-allowed.ts';
import { keyNotTrusted } from './key-not-trusted.ts';
import { keylessIdentityRequired } from './keyless-identity-required.ts';
import { pinnedFromMismatch } from './pinned-from-mismatch.ts';
import { registryNotAllowed } from './registry-not-allowed.ts';
import type { Rule } from './rule.ts';
import { trustedRootNotAllowed } from './trusted-root-not-allowed.ts';
import { verifyProviderNotAllowed } from './verify-provider-not-allowed.ts';
import { verifyRequired } from './verify-required.ts';

export const RULES: readonly Rule[] = [
  inputTooLarge,
  verifyRequired,
  verifyProviderNotAllowed,
  keylessIdentityRequired,
  keyBasedNotAllowed,
  keyNotTrusted,
  trustedRootNotAllowed,
  ...identityRules,
  digestRequired,
  pinnedFromMismatch,
  insecureNotAllowed,
  registryNotAllowed,
  commitBindingAnnotation,
  bucketIgnoreRequired,
  bucketInsecureNotAllowed,
];

export const RULE_IDS = RULES.map((rule) => rule.id);

export type { Rule, RuleContext, RuleFinding } from './rule.ts';
export { INPUT_TOO_LARGE_RULE_ID, bucketInputTooLarge, inputTooLarge } from './input-too-large.ts';
export { decideIdentities, identityKey, isIdentityDecided, OBJECT_BUDGET_MS } from './identity-verdict.ts';
export type { IdentityEntry, PrecomputedIdentities } from './identity-verdict.ts';
