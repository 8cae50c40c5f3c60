/**
 * Applies SourcePolicyExceptions to one object's findings. An exception waives a finding when it is in the
 * object's namespace, names the object (kind + name, or kind + label selector), lists the finding's rule id,
 * optionally names the deciding policy rule, and has not expired at the injected `now`. An expired exception
 * waives nothing; the finding it would have waived says so, so the owner sees why a waiver stopped working.
 */
import type { Finding, ObjectRef } from '../findings.ts';
import type { DecidingRule } from '../policy/index.ts';
import { labelsOf, selectorMatches } from '../scope/index.ts';
import type { ExceptionSet, ExpiredException, SourcePolicyException, WaivedFinding } from './types.ts';

export interface ExceptionOutcome {
  findings: Finding[];
  waived: WaivedFinding[];
  /** Expired exceptions that would have waived a finding of this object. */
  expired: ExpiredException[];
}

export function applyExceptions(
  object: unknown,
  ref: ObjectRef,
  rule: DecidingRule | undefined,
  findings: readonly Finding[],
  set: ExceptionSet,
): ExceptionOutcome {
  const covering = set.exceptions.filter((exception) => covers(exception, object, ref, rule));
  if (covering.length === 0) return { findings: [...findings], waived: [], expired: [] };
  const kept: Finding[] = [];
  const waived: WaivedFinding[] = [];
  const expired = new Map<string, ExpiredException>();
  for (const finding of findings) {
    const relevant = covering.filter((exception) => exception.spec.ruleIds.includes(finding.ruleId));
    const active = relevant.find((exception) => !isExpired(exception, set.now));
    if (active) {
      waived.push({ ...finding, exception: idOf(active), reason: active.spec.reason, expires: active.spec.expires });
      continue;
    }
    const lapsed = relevant[0];
    if (lapsed) {
      expired.set(idOf(lapsed), describeExpired(lapsed));
      kept.push({
        ...finding,
        message: `${finding.message} (exception ${idOf(lapsed)} expired ${lapsed.spec.expires} and no longer waives this)`,
      });
    } else {
      kept.push(finding);
    }
  }
  return { findings: kept, waived, expired: [...expired.values()] };
}

export function isExpired(exception: SourcePolicyException, now: Date): boolean {
  return Date.parse(exception.spec.expires) <= now.getTime();
}

/** Every exception past its `expires`, oldest first: `check` reports them whether or not they matched anything. */
export function expiredExceptions(set: ExceptionSet): ExpiredException[] {
  return set.exceptions
    .filter((exception) => isExpired(exception, set.now))
    .sort((a, b) => Date.parse(a.spec.expires) - Date.parse(b.spec.expires))
    .map(describeExpired);
}

function covers(
  exception: SourcePolicyException,
  object: unknown,
  ref: ObjectRef,
  rule: DecidingRule | undefined,
): boolean {
  if (ref.namespace !== exception.metadata.namespace) return false;
  if (
    exception.spec.policyRules !== undefined &&
    (rule === undefined || !exception.spec.policyRules.includes(rule.name))
  )
    return false;
  return exception.spec.objects.some((named) => {
    if (named.kind !== ref.kind) return false;
    if (named.name !== undefined) return named.name === ref.name;
    return named.selector !== undefined && selectorMatches(named.selector, labelsOf(object));
  });
}

function idOf(exception: SourcePolicyException): string {
  return `${exception.metadata.namespace}/${exception.metadata.name}`;
}

function describeExpired(exception: SourcePolicyException): ExpiredException {
  return { exception: idOf(exception), expires: exception.spec.expires, reason: exception.spec.reason };
}
