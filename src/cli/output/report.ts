/** The `check` report: what every formatter (text, json, sarif) renders. Plain data, built once. */
import type { Finding, ObjectRef, Verdict } from '../../core/findings.ts';
import type { InputProblem } from '../input/read-manifests.ts';

export interface Violation extends Finding {
  line: number;
}

export interface CheckResult {
  object: ObjectRef;
  file: string;
  line: number;
  verdict: Verdict;
  exempt: boolean;
  violations: Violation[];
}

export interface CheckSummary {
  objects: number;
  denied: number;
  warned: number;
  skipped: number;
}

export interface CheckReport {
  results: CheckResult[];
  summary: CheckSummary;
  problems: InputProblem[];
}

export function summarize(results: readonly CheckResult[], skipped: number): CheckSummary {
  return {
    objects: results.length,
    denied: results.filter((result) => result.verdict === 'deny').length,
    warned: results.filter((result) => result.verdict === 'warn').length,
    skipped,
  };
}

export function describeObject(object: ObjectRef): string {
  const namespaced = object.namespace ? `${object.namespace}/${object.name}` : object.name || '(unnamed)';
  return `${object.kind}/${namespaced}`;
}
