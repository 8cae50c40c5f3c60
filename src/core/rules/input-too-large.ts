/**
 * `input-too-large`: a field that drives work is over its cap (see core/input-caps.ts). `evaluate` runs this
 * rule first and, when it finds anything, only this rule: no identity automaton, registry call or cache key
 * is ever built from an oversized field.
 */
import { bucketCapViolations, describeCapViolation, inputCapViolations } from '../input-caps.ts';
import type { CapViolation } from '../input-caps.ts';
import type { BucketRule, OciRepositoryRule, RuleFinding } from './rule.ts';

export const INPUT_TOO_LARGE_RULE_ID = 'input-too-large';

export const inputTooLarge: OciRepositoryRule = {
  id: INPUT_TOO_LARGE_RULE_ID,
  kind: 'OCIRepository',
  severity: 'error',
  summary:
    'spec.url, identity patterns, the number of identities, the semver range and a Bucket spec.ignore are capped before any work.',
  check: (view) => inputCapViolations(view).map(toFinding),
};

/** The same rule id for Buckets (`spec.ignore`); not listed in RULES twice, `evaluate` runs it first. */
export const bucketInputTooLarge: BucketRule = {
  id: INPUT_TOO_LARGE_RULE_ID,
  kind: 'Bucket',
  severity: 'error',
  summary: inputTooLarge.summary,
  check: (view) => bucketCapViolations(view).map(toFinding),
};

function toFinding(violation: CapViolation): RuleFinding {
  return {
    path: violation.path,
    message: `${describeCapViolation(violation)} [PW_INPUT_TOO_LARGE]`,
    fix: 'shorten the field: real registry URLs, identity regexes, semver ranges and ignore lists fit well inside these caps',
  };
}
