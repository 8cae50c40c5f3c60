/**
 * The SourcePolicy objects of a cluster → the one policy in force, and a status per object. Pure: the caller
 * (the cluster policy source) brings the objects it watches and the memory of the last call, and writes the
 * reports to each object's status and Events.
 *
 * Atomic and fail-closed: an object whose new version is invalid keeps the version that was last in force (or
 * contributes nothing if it never had one), and a change that would make the combination invalid is refused
 * the same way; the policy in force only ever changes to a valid combination. With no SourcePolicy object at
 * all, the caller's fallback (the built-in secure defaults) applies: nothing opens the gate.
 */
import { toPinwardenError } from '../errors.ts';
import { asRecord, asString } from '../flux/objects.ts';
import { loadPolicy } from '../policy/index.ts';
import type { SourcePolicy } from '../policy/index.ts';
import { combinationOrder, combinePolicies, describePolicy, ignoredFields } from './combine.ts';
import type { PolicyContribution } from './combine.ts';
import { boundedMessage, type ObjectReport } from './report.ts';

/** At most this many SourcePolicy objects are combined (each holds up to 256 rules); the rest are refused. */
export const MAX_POLICIES = 64;

interface Known {
  /** The spec as JSON: the same text is never parsed twice. */
  key: string;
  generation?: number;
  /** Loaded: valid alone. */
  policy?: SourcePolicy;
  /** Why it is not valid alone. */
  problem?: string;
  raw: unknown;
}

export interface PolicySetMemory {
  /** name → the version in force. */
  readonly accepted: ReadonlyMap<string, Known>;
  /** name → the latest version seen that is not in force (invalid, or refused by the combination). */
  readonly refused: ReadonlyMap<string, Known & { reason: string; problem: string }>;
  /** The combination in force; undefined when no object is accepted (the fallback applies). */
  readonly effective?: SourcePolicy;
}

export const EMPTY_POLICY_SET: PolicySetMemory = { accepted: new Map(), refused: new Map() };

export interface PolicySetResult {
  memory: PolicySetMemory;
  /** The policy to answer with: the combination, or the fallback when nothing is accepted. */
  effective: SourcePolicy;
  /** True when `effective` is another policy than the previous call's. */
  changed: boolean;
  /** One per object given, in name order. */
  reports: ObjectReport[];
}

export function reconcilePolicies(
  objects: readonly unknown[],
  memory: PolicySetMemory,
  fallback: SourcePolicy,
): PolicySetResult {
  const seen = objects.map(readObject).filter((entry): entry is Known & { name: string } => entry !== undefined);
  seen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const working = new Map<string, Known>();
  const seenNames = new Set(seen.map((entry) => entry.name));
  // Deleted objects leave; an unchanged one stays as it is.
  for (const entry of seen) {
    const accepted = memory.accepted.get(entry.name);
    if (accepted) working.set(entry.name, accepted);
  }
  const refused = new Map<string, Known & { reason: string; problem: string }>();
  const changes: Array<Known & { name: string; policy: SourcePolicy }> = [];
  for (const entry of seen) {
    const accepted = working.get(entry.name);
    if (accepted && accepted.key === entry.key) {
      working.set(entry.name, {
        ...accepted,
        raw: entry.raw,
        ...(entry.generation !== undefined ? { generation: entry.generation } : {}),
      });
      continue;
    }
    const known = memory.refused.get(entry.name);
    const parsed = known && known.key === entry.key ? known : parse(entry);
    if (parsed.policy) changes.push({ ...parsed, name: entry.name, policy: parsed.policy, raw: entry.raw });
    else
      refused.set(entry.name, {
        ...parsed,
        raw: entry.raw,
        reason: 'InvalidPolicy',
        problem: parsed.problem ?? 'invalid',
      });
  }
  // New versions all go in together; while the combination is invalid, each conflict reverts its changed party
  // (the culprit the conflict names when it changed, else the other) to the version in force, or drops it if it
  // has none. A conflict always involves a change (the versions in force combined), so this ends, and it blames
  // the same objects whatever order the events came in.
  const changed = new Set<string>();
  for (const change of combinationOrder(changes)) {
    if (!working.has(change.name) && working.size >= MAX_POLICIES) {
      refused.set(change.name, {
        ...change,
        reason: 'CombinationInvalid',
        problem: `more than ${MAX_POLICIES} SourcePolicy objects; merge some of them`,
      });
      continue;
    }
    working.set(change.name, change);
    changed.add(change.name);
  }
  for (let round = 0; round <= changes.length; round++) {
    const combined = combinePolicies(contributions(working));
    if (combined.ok || combined.conflicts.length === 0) break;
    for (const conflict of combined.conflicts) {
      const culprit = changed.has(conflict.culprit)
        ? conflict.culprit
        : conflict.parties.find((party) => changed.has(party));
      if (culprit === undefined || refused.has(culprit)) continue;
      const change = working.get(culprit);
      if (change) refused.set(culprit, { ...change, reason: 'CombinationInvalid', problem: conflict.message });
      const previous = memory.accepted.get(culprit);
      if (previous && seenNames.has(culprit)) working.set(culprit, previous);
      else working.delete(culprit);
      changed.delete(culprit);
    }
  }
  const moved = signature(memory.accepted) !== signature(working);
  const combination = moved && working.size > 0 ? combinePolicies(contributions(working)) : undefined;
  // Every step above kept `working` valid, so the combination is; unchanged, the previous object stays (warm caches).
  const effective = !moved
    ? (memory.effective ?? fallback)
    : combination?.ok
      ? combination.policy
      : working.size > 0
        ? (memory.effective ?? fallback)
        : fallback;
  const order = combinationOrder(contributions(working)).map((entry) => entry.name);
  const reports = seen.map((entry) => reportFor(entry, working, refused, order));
  const next: PolicySetMemory = {
    accepted: working,
    refused,
    ...(working.size > 0 && effective !== fallback ? { effective } : {}),
  };
  return { memory: next, effective, changed: moved, reports };
}

function signature(entries: ReadonlyMap<string, Known>): string {
  return [...entries]
    .map(([name, known]) => `${name}\u0000${known.key}`)
    .sort()
    .join('\u0001');
}

function contributions(entries: ReadonlyMap<string, Known>): PolicyContribution[] {
  return [...entries].flatMap(([name, known]) => (known.policy ? [{ name, policy: known.policy }] : []));
}

function readObject(raw: unknown): (Known & { name: string }) | undefined {
  const metadata = asRecord(asRecord(raw)?.metadata);
  const name = asString(metadata?.name);
  if (name === undefined || name === '') return undefined;
  const generation = typeof metadata?.generation === 'number' ? metadata.generation : undefined;
  return {
    name,
    key: JSON.stringify(asRecord(raw)?.spec ?? null),
    raw,
    ...(generation !== undefined ? { generation } : {}),
  };
}

/** The one loader, on the object as written (status and server-set metadata left out). */
function parse(entry: Known & { name: string }): Known {
  const record = asRecord(entry.raw) ?? {};
  const metadata = asRecord(record.metadata) ?? {};
  const document = {
    apiVersion: record.apiVersion,
    kind: record.kind,
    metadata: {
      name: entry.name,
      ...(metadata.labels !== undefined ? { labels: metadata.labels } : {}),
      ...(metadata.annotations !== undefined ? { annotations: metadata.annotations } : {}),
    },
    ...(record.spec !== undefined ? { spec: record.spec } : {}),
  };
  try {
    return { ...entry, policy: loadPolicy(JSON.stringify(document), describePolicy(entry.name)) };
  } catch (error) {
    return { ...entry, problem: toPinwardenError(error, 'PW_POLICY_INVALID').message };
  }
}

function reportFor(
  entry: Known & { name: string },
  working: ReadonlyMap<string, Known>,
  refused: ReadonlyMap<string, Known & { reason: string; problem: string }>,
  order: readonly string[],
): ObjectReport {
  const base = {
    kind: 'SourcePolicy' as const,
    name: entry.name,
    ...(entry.generation !== undefined ? { generation: entry.generation } : {}),
  };
  const rejection = refused.get(entry.name);
  if (rejection) {
    const kept = working.get(entry.name);
    const fate = kept
      ? `the version of generation ${kept.generation ?? '?'} stays in force`
      : 'this policy is not in force';
    return withCondition(base, 'False', rejection.reason, `${rejection.problem}; ${fate}`);
  }
  const position = order.indexOf(entry.name);
  if (position === 0) {
    return withCondition(
      base,
      'True',
      'Accepted',
      `in force, first of ${order.length}: supplies mode, exemptNamespaces, the default rule and registry; its spec.rules are tried first`,
    );
  }
  const ignored = ignoredFields(entry.raw);
  const note =
    ignored.length > 0
      ? `; ${ignored.join(', ')} not used: ${describePolicy(order[0] ?? '')} comes first and supplies them`
      : '';
  return withCondition(
    base,
    'True',
    'Accepted',
    `in force, ${position + 1} of ${order.length}: its spec.rules are tried after those of ${describePolicy(order[position - 1] ?? '')}${note}`,
  );
}

function withCondition(
  base: Omit<ObjectReport, 'condition'>,
  status: 'True' | 'False',
  reason: string,
  message: string,
): ObjectReport {
  return { ...base, condition: { status, reason, message: boundedMessage(message) } };
}
