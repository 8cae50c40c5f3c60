/**
 * The one answer to "which rule decides this object": the first `spec.rules` entry whose match fits, else
 * the closing rule (the last rule when it matches everything, or the flat spec.ociRepository / spec.bucket as
 * the rule named default). The result is an effective SourcePolicy whose flat blocks are the deciding rule's,
 * so every rule, the mutation planner and the flows read their settings exactly as before. /validate,
 * /mutate, `check` and the controller all call `selectRule`; it is pure and cheap, and it is idempotent on
 * its own output (an effective policy carries `spec.decidedBy`).
 */
import { governedKindOf, objectRefOf, readOciRepository } from '../flux/objects.ts';
import { normalizeOciUrl } from '../flux/oci-url.ts';
import { DEFAULT_RULE_NAME } from '../policy/index.ts';
import type { DecidingRule, PolicyRule, RuleMatch, SourcePolicy } from '../policy/index.ts';
import { labelsOf, selectorMatches, type Labels } from './label-selector.ts';

/** What the caller knows beyond the object itself. */
export interface ScopeFacts {
  /**
   * Labels of the object's Namespace, when known (the webhook reads them; `check` takes them from Namespace
   * manifests in its input). Unknown: a rule with a namespaceSelector cannot be judged and is passed over.
   */
  namespaceLabels?: Labels;
}

export interface RuleSelection {
  rule: DecidingRule;
  /** The policy as the deciding rule sees it: spec.ociRepository, spec.bucket and spec.registry are the rule's. */
  policy: SourcePolicy;
  /** Rules passed over because they select by namespace labels and those labels were unknown. */
  unjudged: string[];
}

const FLAT_RULE: DecidingRule = { name: DEFAULT_RULE_NAME, source: 'spec' };

/** Effective policies per policy and (rule, unjudged) pair, so caches keyed on a policy object stay warm. */
const effective = new WeakMap<SourcePolicy, Map<string, SourcePolicy>>();
const MAX_VARIANTS = 1024;

export function selectRule(object: unknown, policy: SourcePolicy, facts: ScopeFacts = {}): RuleSelection {
  const decided = policy.spec.decidedBy;
  if (decided) return { rule: decided, policy, unjudged: decided.unjudged ?? [] };
  const rules = policy.spec.rules ?? [];
  const unjudged: string[] = [];
  const subject = rules.length > 0 ? subjectOf(object) : undefined;
  for (const [index, rule] of rules.entries()) {
    const fit = subject ? ruleFits(rule.match, subject, facts) : true;
    if (fit === 'unknown') unjudged.push(rule.name);
    else if (fit)
      return selection(
        policy,
        { name: rule.name, source: policy.spec.ruleSources?.[index] ?? `spec.rules[${index}]` },
        rule,
        unjudged,
      );
  }
  return selection(policy, FLAT_RULE, undefined, unjudged);
}

/** What the matches read, taken from the object once: the URL normalised once, whatever the number of rules. */
interface MatchSubject {
  /** Normalised spec.url of an OCIRepository; undefined for a Bucket or a missing URL. */
  url: string | undefined;
  namespace: string | undefined;
  labels: () => Labels;
}

function subjectOf(object: unknown): MatchSubject {
  const raw = governedKindOf(object) === 'OCIRepository' ? readOciRepository(object).url : undefined;
  let labels: Labels | undefined;
  return {
    url: raw === undefined ? undefined : normalizeOciUrl(raw),
    namespace: objectRefOf(object).namespace,
    labels: () => (labels ??= labelsOf(object)),
  };
}

const normalisedPrefixes = new WeakMap<readonly string[], string[]>();

function urlFits(url: string, prefixes: readonly string[]): boolean {
  let bases = normalisedPrefixes.get(prefixes);
  if (!bases) {
    bases = prefixes.map(normalizeOciUrl);
    normalisedPrefixes.set(prefixes, bases);
  }
  return bases.some((base) => url === base || url.startsWith(`${base}/`));
}

function selection(
  policy: SourcePolicy,
  base: DecidingRule,
  rule: PolicyRule | undefined,
  unjudged: string[],
): RuleSelection {
  const decided: DecidingRule = unjudged.length > 0 ? { ...base, unjudged } : base;
  if (rule === undefined && policy.spec.rules === undefined && unjudged.length === 0) {
    // A policy without rules: its own flat blocks decide; only the marker is new.
    return {
      rule: decided,
      policy: variant(policy, 'flat', () => ({ ...policy, spec: { ...policy.spec, decidedBy: decided } })),
      unjudged,
    };
  }
  const key = `${base.source}\u0000${unjudged.join('\u0000')}`;
  const made = variant(policy, key, () => ({
    ...policy,
    spec: {
      ...policy.spec,
      ...(rule
        ? {
            ociRepository: rule.ociRepository,
            bucket: rule.bucket,
            registry: { ...policy.spec.registry, ...rule.registry },
          }
        : {}),
      decidedBy: decided,
    },
  }));
  return { rule: decided, policy: made, unjudged };
}

function variant(policy: SourcePolicy, key: string, make: () => SourcePolicy): SourcePolicy {
  let variants = effective.get(policy);
  if (!variants) {
    variants = new Map();
    effective.set(policy, variants);
  }
  const known = variants.get(key);
  if (known) return known;
  const made = make();
  if (variants.size < MAX_VARIANTS) variants.set(key, made);
  return made;
}

/** true / false, or 'unknown' when everything else fits but the namespace labels a selector needs are unknown. */
function ruleFits(match: RuleMatch | undefined, subject: MatchSubject, facts: ScopeFacts): boolean | 'unknown' {
  if (match === undefined) return true;
  if (match.urls !== undefined && (subject.url === undefined || !urlFits(subject.url, match.urls))) return false;
  const namespace = subject.namespace;
  if (match.namespaces !== undefined && (namespace === undefined || !match.namespaces.includes(namespace)))
    return false;
  if (match.selector !== undefined && !selectorMatches(match.selector, subject.labels())) return false;
  if (match.namespaceSelector !== undefined) {
    if (namespace === undefined || facts.namespaceLabels === undefined) return 'unknown';
    // The API server gives every Namespace this label; a Namespace manifest in a repository may not spell it.
    const labels = { ...facts.namespaceLabels, 'kubernetes.io/metadata.name': namespace };
    return selectorMatches(match.namespaceSelector, labels);
  }
  return true;
}

/** `rule own-apps (spec.rules[0])`: how verdicts name the rule. */
export function describeRule(rule: DecidingRule): string {
  return rule.source === 'spec'
    ? `rule ${rule.name} (spec.ociRepository/spec.bucket)`
    : `rule ${rule.name} (${rule.source})`;
}

const needsLabels = new WeakMap<SourcePolicy, boolean>();

/** Whether any rule selects by namespace labels (then the webhook reads the object's Namespace first). */
export function needsNamespaceLabels(policy: SourcePolicy): boolean {
  let known = needsLabels.get(policy);
  if (known === undefined) {
    known =
      policy.spec.decidedBy === undefined &&
      (policy.spec.rules ?? []).some((rule) => rule.match?.namespaceSelector !== undefined);
    needsLabels.set(policy, known);
  }
  return known;
}
