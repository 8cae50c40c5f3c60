/**
 * The `check` report: what every formatter (text, json, sarif) renders. Built one object at a time
 * (`ReportBuilder`), so a streaming `check` keeps only results and findings, never the parsed inputs.
 * Governed objects are first validated against their Flux CRD schema (`schema-invalid`), then by the rules.
 */
import type { Evaluation } from '../../core/evaluate.ts';
import { verdictOf } from '../../core/evaluate.ts';
import type { ExpiredException, WaivedFinding } from '../../core/exceptions/index.ts';
import type { Finding, ObjectRef, Verdict } from '../../core/findings.ts';
import { notGovernedReason, schemaFindings } from '../../core/flux/index.ts';
import { freshString } from '../../core/fresh-string.ts';
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

export interface SkippedObject {
  object: ObjectRef;
  file: string;
  line: number;
  reason: string;
  /** A source (or a generator of sources) the text output names one by one. */
  notable: boolean;
}

export interface CheckSummary {
  objects: number;
  denied: number;
  warned: number;
  allowed: number;
  skipped: number;
}

export interface CheckReport {
  results: CheckResult[];
  summary: CheckSummary;
  problems: InputProblem[];
  skipped: SkippedObject[];
  /** Files (or stdin) that held no document at all. */
  emptyFiles: string[];
  /** One-line remarks about the input selection (Helm templates skipped, files excluded, origins not found). */
  notes: string[];
  /** `--exceptions`: every exception past its expiry (they waive nothing). */
  expiredExceptions?: ExpiredException[];
}

export function summarize(results: readonly CheckResult[], skipped: number): CheckSummary {
  const denied = results.filter((result) => result.verdict === 'deny').length;
  const warned = results.filter((result) => result.verdict === 'warn').length;
  return { objects: results.length, denied, warned, allowed: results.length - denied - warned, skipped };
}

export class ReportBuilder {
  private readonly results: CheckResult[] = [];
  private readonly skipped: SkippedObject[] = [];
  private readonly mode: 'enforce' | 'warn' | undefined;

  /** `mode`: the effective policy mode, so schema findings are warnings in warn mode like every other finding. */
  constructor(mode?: 'enforce' | 'warn') {
    this.mode = mode;
  }

  add(manifest: ManifestObject, evaluation: Evaluation): void {
    if (!evaluation.governed) {
      const { reason, notable } = notGovernedReason(manifest.object);
      this.skipped.push({
        object: keptRef(evaluation.object),
        file: manifest.file,
        line: manifest.line,
        reason: freshString(reason),
        notable,
      });
      return;
    }
    const severity = this.mode === 'warn' ? 'warning' : 'error';
    const schema = evaluation.exempt
      ? []
      : (schemaFindings(manifest.object) ?? []).map((finding) => ({ ...finding, severity }) satisfies Finding);
    const findings = schema.length > 0 ? [...schema, ...evaluation.findings] : evaluation.findings;
    this.results.push({
      object: keptRef(evaluation.object),
      file: manifest.file,
      line: manifest.line,
      verdict: schema.length > 0 ? verdictOf(findings) : evaluation.verdict,
      exempt: evaluation.exempt,
      violations: findings.map((finding) => keptFinding(finding, manifest.lineOf(finding.path))),
      ...(evaluation.rule ? { rule: evaluation.rule.name } : {}),
      ...(evaluation.waived
        ? {
            waived: evaluation.waived.map((finding) => ({
              ...keptFinding(finding, manifest.lineOf(finding.path)),
              exception: freshString(finding.exception),
              reason: freshString(finding.reason),
              expires: freshString(finding.expires),
            })),
          }
        : {}),
    });
  }

  finish(extra: Partial<Pick<CheckReport, 'problems' | 'emptyFiles' | 'notes'>> = {}): CheckReport {
    return {
      results: this.results,
      summary: summarize(this.results, this.skipped.length),
      problems: extra.problems ?? [],
      skipped: this.skipped,
      emptyFiles: extra.emptyFiles ?? [],
      notes: extra.notes ?? [],
    };
  }
}

/*
 * Results keep fresh copies of the strings that may come from the input (see core/fresh-string.ts: kept as-is,
 * one name or pattern in a message would pin every input file in memory; measured: 4 KB retained per file,
 * 128 MB heaps thrashing at 10,000). The file name, rule ids and policy rule names do not come from the input.
 * The copies are made field by field (a JSON round trip of each result did the same at three times the cost:
 * BENCHMARKS.md, `check` throughput); a field added to these types must be copied here too.
 */

function keptRef(ref: ObjectRef): ObjectRef {
  return {
    apiVersion: freshString(ref.apiVersion),
    kind: freshString(ref.kind),
    ...(ref.namespace !== undefined ? { namespace: freshString(ref.namespace) } : {}),
    name: freshString(ref.name),
  };
}

function keptFinding(finding: Finding, line: number): Violation {
  return {
    ruleId: finding.ruleId,
    severity: finding.severity,
    path: freshString(finding.path),
    message: freshString(finding.message),
    fix: freshString(finding.fix),
    line,
  };
}

/** One result per governed object, with every finding's line in its file; other kinds are skipped with a reason. */
export function reportFrom(
  checked: Iterable<{ manifest: ManifestObject; evaluation: Evaluation }>,
  mode?: 'enforce' | 'warn',
): CheckReport {
  const builder = new ReportBuilder(mode);
  for (const { manifest, evaluation } of checked) builder.add(manifest, evaluation);
  return builder.finish();
}

export function describeObject(object: ObjectRef): string {
  const namespaced = object.namespace ? `${object.namespace}/${object.name}` : object.name || '(unnamed)';
  return `${object.kind || '(no kind)'}/${namespaced}`;
}
