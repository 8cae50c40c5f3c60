/** The `check` report: what every formatter (text, json, sarif) renders. Plain data, built once. */
import type { Evaluation } from '../../core/evaluate.ts';
import type { ExpiredException, WaivedFinding } from '../../core/exceptions/index.ts';
import type { Finding, ObjectRef, Verdict } from '../../core/findings.ts';
import type { InputProblem, ManifestObject } from '../input/read-manifests.ts';

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
  /** The policy rule that decided (spec.rules[].name, or default). */
  rule?: string;
  /** Findings a SourcePolicyException waived. */
  waived?: Array<WaivedFinding & { line: number }>;
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
  /** `--exceptions`: every exception past its expiry (they waive nothing). */
  expiredExceptions?: ExpiredException[];
}

export function summarize(results: readonly CheckResult[], skipped: number): CheckSummary {
  return {
    objects: results.length,
    denied: results.filter((result) => result.verdict === 'deny').length,
    warned: results.filter((result) => result.verdict === 'warn').length,
    skipped,
  };
}

/** One result per governed object, with every finding's line in its file; other kinds count as skipped. */
export function reportFrom(checked: Iterable<{ manifest: ManifestObject; evaluation: Evaluation }>): CheckReport {
  const results: CheckResult[] = [];
  let skipped = 0;
  for (const { manifest, evaluation } of checked) {
    if (!evaluation.governed) {
      skipped += 1;
      continue;
    }
    results.push({
      object: evaluation.object,
      file: manifest.file,
      line: manifest.line,
      verdict: evaluation.verdict,
      exempt: evaluation.exempt,
      violations: evaluation.findings.map((finding) => ({ ...finding, line: manifest.lineOf(finding.path) })),
      ...(evaluation.rule ? { rule: evaluation.rule.name } : {}),
      ...(evaluation.waived ? { waived: evaluation.waived.map((finding) => ({ ...finding, line: manifest.lineOf(finding.path) })) } : {}),
    });
  }
  return { results, summary: summarize(results, skipped), problems: [] };
}

export function describeObject(object: ObjectRef): string {
  const namespaced = object.namespace ? `${object.namespace}/${object.name}` : object.name || '(unnamed)';
  return `${object.kind}/${namespaced}`;
}
