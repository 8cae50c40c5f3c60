/**
 * How several SourcePolicy objects make one policy (README "Policy in the cluster"):
 *
 *   1. order: `spec.priority` descending (absent = 0), then `metadata.name` ascending;
 *   2. the first policy supplies everything but `spec.rules`: mode, exemptNamespaces, the flat
 *      `ociRepository` / `bucket` blocks (the closing rule named `default`) and `registry`;
 *   3. `spec.rules` of every policy are concatenated in that order; the first matching rule decides;
 *   4. rule names are unique across all policies, and a rule without `match` (it decides every object) may only
 *      be the very last rule: otherwise the rules after it could never decide. Either conflict makes the
 *      combination invalid, and the caller keeps the last valid one.
 *
 * Pure: the policies come in already loaded (validated, defaults filled) by the one loader.
 */
import { matchesEverything } from '../policy/index.ts';
import type { PolicyRule, SourcePolicy } from '../policy/index.ts';

export interface PolicyContribution {
  /** metadata.name of the SourcePolicy object. */
  name: string;
  policy: SourcePolicy;
}

/** Two policies that cannot combine: `culprit` is the one to change (the later duplicate, the early catch-all). */
export interface CombinationConflict {
  message: string;
  parties: [string, string];
  culprit: string;
}

export type Combination =
  | { ok: true; policy: SourcePolicy; order: string[] }
  | { ok: false; problem: string; conflicts: CombinationConflict[] };

/** The deterministic order: priority descending, then name ascending. */
export function combinationOrder<T extends PolicyContribution>(contributions: readonly T[]): T[] {
  return [...contributions].sort(
    (a, b) => priorityOf(b.policy) - priorityOf(a.policy) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

export function priorityOf(policy: SourcePolicy): number {
  return policy.spec.priority ?? 0;
}

export function describePolicy(name: string): string {
  return `SourcePolicy/${name}`;
}

export function combinePolicies(contributions: readonly PolicyContribution[]): Combination {
  const ordered = combinationOrder(contributions);
  const first = ordered[0];
  if (!first) return { ok: false, problem: 'no SourcePolicy to combine', conflicts: [] };
  const rules: PolicyRule[] = [];
  const sources: Array<{ policy: string; where: string }> = [];
  const owners = new Map<string, { policy: string; where: string }>();
  const conflicts: CombinationConflict[] = [];
  for (const { name, policy } of ordered) {
    (policy.spec.rules ?? []).forEach((rule, index) => {
      const where = `${describePolicy(name)} spec.rules[${index}]`;
      const owner = owners.get(rule.name);
      if (owner !== undefined) {
        conflicts.push({
          message: `${where}: rule name '${rule.name}' is already used by ${owner.where}; rule names must be unique across SourcePolicy objects (verdicts and exceptions name rules)`,
          parties: [owner.policy, name],
          culprit: name,
        });
      }
      owners.set(rule.name, { policy: name, where });
      rules.push(rule);
      sources.push({ policy: name, where });
    });
  }
  rules.forEach((rule, index) => {
    const here = sources[index];
    const next = sources[index + 1];
    if (!here || !next || !matchesEverything(rule.match)) return;
    conflicts.push({
      message:
        `${here.where} '${rule.name}' has no match, so it decides every object and ${next.where} '${rules[index + 1]?.name ?? ''}' and later could never decide; ` +
        'give it a match, or order the policy after the others (spec.priority)',
      parties: [here.policy, next.policy],
      culprit: here.policy,
    });
  });
  if (conflicts.length > 0)
    return { ok: false, problem: conflicts.map((conflict) => conflict.message).join('; '), conflicts };
  const order = ordered.map((entry) => entry.name);
  const spec = { ...first.policy.spec };
  delete spec.rules;
  delete spec.ruleSources;
  const policy: SourcePolicy = {
    apiVersion: first.policy.apiVersion,
    kind: 'SourcePolicy',
    metadata: { name: order.join('+') },
    spec: rules.length > 0 ? { ...spec, rules, ruleSources: sources.map((source) => source.where) } : spec,
  };
  return { ok: true, policy, order };
}

/** Fields a policy that is not first wrote outside spec.rules: they do not apply, and its status says so. */
export function ignoredFields(raw: unknown): string[] {
  const spec = (raw as { spec?: unknown } | null)?.spec;
  if (typeof spec !== 'object' || spec === null) return [];
  return Object.keys(spec)
    .filter((key) => key !== 'rules' && key !== 'priority')
    .map((key) => `spec.${key}`)
    .sort();
}
