/**
 * `input-too-large`: a field that drives work is over its cap (see core/input-caps.ts). `evaluate` runs this
 * rule first and, when it finds anything, only this rule: no identity automaton, registry call or cache key
 * is ever built from an oversized field.
 */
import { describeCapViolation, inputCapViolations } from '../input-caps.ts';
import type { OciRepositoryRule } from './rule.ts';

export const INPUT_TOO_LARGE_RULE_ID = 'input-too-large';

export const inputTooLarge: OciRepositoryRule = {
  id: INPUT_TOO_LARGE_RULE_ID,
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'spec.url, identity patterns, the number of identities and the semver range are capped before any work.',
  check(view) {
    return inputCapViolations(view).map((violation) => ({
      path: violation.path,
      message: `${describeCapViolation(violation)} [PW_INPUT_TOO_LARGE]`,
      fix: 'shorten the field: real registry URLs, identity regexes and semver ranges fit well inside these caps',
    }));
  },
};
