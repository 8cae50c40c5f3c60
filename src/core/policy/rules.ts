/**
 * Load-time checks of `spec.rules` that the JSON Schema cannot express: unique names, the rule that matches
 * everything closes the list (nothing after it could ever decide), no flat block left unused, selector
 * operators with the values they need. Each rule's `ociRepository` block gets exactly the checks the flat
 * block gets (identity regexes, key trust), run by the loader through `checkBlock`, so one field has one check.
 */
import { PinwardenError } from '../errors.ts';
import type { LabelSelector, PolicyRule, RuleMatch, SourcePolicy } from './types.ts';

/** The name of the closing rule made from the flat spec.ociRepository / spec.bucket. */
export const DEFAULT_RULE_NAME = 'default';

/** Whether the document, before defaults, wrote spec.ociRepository or spec.bucket itself. */
export function flatBlocksWritten(candidate: unknown): string[] {
  const spec = (candidate as { spec?: unknown } | null)?.spec;
  if (typeof spec !== 'object' || spec === null) return [];
  return ['ociRepository', 'bucket'].filter((field) => Object.hasOwn(spec, field));
}

/** True when a rule's match leaves every object in (absent, or no field given). */
export function matchesEverything(match: RuleMatch | undefined): boolean {
  return (
    match === undefined ||
    (match.urls === undefined &&
      match.namespaces === undefined &&
      match.namespaceSelector === undefined &&
      match.selector === undefined)
  );
}

export function assertRules(
  policy: SourcePolicy,
  sourceName: string,
  flatWritten: readonly string[],
  checkBlock: (view: SourcePolicy) => void,
): void {
  const rules = policy.spec.rules;
  if (rules === undefined) return;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    const earlier = seen.get(rule.name);
    if (earlier !== undefined)
      problems.push(
        `spec.rules[${index}].name: '${rule.name}' is already the name of spec.rules[${earlier}]; verdicts and exceptions name rules, so names must be unique`,
      );
    seen.set(rule.name, index);
    if (matchesEverything(rule.match) && index < rules.length - 1) {
      problems.push(
        `spec.rules[${index}] '${rule.name}' has no match, so it decides every object and spec.rules[${index + 1}] '${rules[index + 1]?.name ?? ''}' and later can never decide; ` +
          'give it a match, or move it to the end of the list',
      );
    }
    problems.push(...selectorProblems(rule, index));
  });
  const closing = rules.length > 0 && matchesEverything(rules[rules.length - 1]?.match);
  if (closing && flatWritten.length > 0) {
    const last = rules.length - 1;
    problems.push(
      `${flatWritten.map((field) => `spec.${field}`).join(' and ')}: never used, because spec.rules[${last}] '${rules[last]?.name ?? ''}' has no match and decides every object no earlier rule fits; ` +
        `move the settings into that rule, or give it a match so that spec.${flatWritten[0] ?? 'ociRepository'} closes the list as the rule named ${DEFAULT_RULE_NAME}`,
    );
  }
  if (!closing && seen.has(DEFAULT_RULE_NAME)) {
    problems.push(
      `spec.rules[${seen.get(DEFAULT_RULE_NAME) ?? 0}].name: '${DEFAULT_RULE_NAME}' names the closing rule made from spec.ociRepository and spec.bucket; choose another name, or drop its match to make it the closing rule`,
    );
  }
  if (problems.length > 0)
    throw new PinwardenError('PW_POLICY_INVALID', `${sourceName}: invalid policy: ${problems.join('; ')}`, {
      details: { file: sourceName },
    });
  rules.forEach((rule, index) => checkRuleBlock(policy, rule, index, checkBlock));
}

/** Runs the flat block's checks on a rule's block; their messages then name the rule's field. */
function checkRuleBlock(
  policy: SourcePolicy,
  rule: PolicyRule,
  index: number,
  checkBlock: (view: SourcePolicy) => void,
): void {
  const view: SourcePolicy = {
    ...policy,
    spec: { ...policy.spec, ociRepository: rule.ociRepository, bucket: rule.bucket },
  };
  try {
    checkBlock(view);
  } catch (error) {
    if (!(error instanceof PinwardenError) || error.code !== 'PW_POLICY_INVALID') throw error;
    const message = error.message
      .replaceAll('spec.ociRepository.', `spec.rules[${index}].ociRepository.`)
      .replaceAll('spec.bucket.', `spec.rules[${index}].bucket.`);
    throw new PinwardenError('PW_POLICY_INVALID', message, { details: error.details, cause: error });
  }
}

function selectorProblems(rule: PolicyRule, index: number): string[] {
  const problems: string[] = [];
  for (const field of ['namespaceSelector', 'selector'] as const) {
    const selector: LabelSelector | undefined = rule.match?.[field];
    selector?.matchExpressions?.forEach((expression, position) => {
      const where = `spec.rules[${index}].match.${field}.matchExpressions[${position}]`;
      const count = expression.values?.length ?? 0;
      if ((expression.operator === 'In' || expression.operator === 'NotIn') && count === 0)
        problems.push(`${where}: operator ${expression.operator} needs at least one value`);
      if ((expression.operator === 'Exists' || expression.operator === 'DoesNotExist') && count > 0)
        problems.push(`${where}: operator ${expression.operator} takes no values`);
    });
  }
  return problems;
}
