/**
 * Kubernetes label selector semantics (matchLabels AND matchExpressions; NotIn and DoesNotExist also fit
 * when the key is absent), over labels read from untrusted objects: values that are not strings are ignored.
 */
import { asRecord, asString } from '../flux/objects.ts';
import type { LabelSelector } from '../policy/index.ts';

export type Labels = Readonly<Record<string, string>>;

export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, expression.key);
    const value = present ? labels[expression.key] : undefined;
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/** metadata.labels of any object, string values only (a tenant can write anything there). */
export function labelsOf(object: unknown): Labels {
  const raw = asRecord(asRecord(asRecord(object)?.metadata)?.labels) ?? {};
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const text = asString(value);
    if (text !== undefined) labels[key] = text;
  }
  return labels;
}
