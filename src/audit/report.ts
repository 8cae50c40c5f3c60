/**
 * Evaluations → `wgpolicyk8s.io/v1alpha2` `PolicyReport` objects, one per namespace (the format Kyverno, Trivy
 * Operator and Policy Reporter read). Pure: the audit brings the evaluations and the time.
 *
 * Mapping: `source` pinwarden, `policy` `pinwarden/<deciding SourcePolicy rule>`, `rule` the finding's rule id;
 * an error finding is `fail` (severity high), a warning `warn` (medium), a finding a SourcePolicyException waived
 * `skip`, an object with no finding one `pass` (rule `all`), an object in an exempt namespace one `skip`, an
 * object that could not be judged (an API or registry failure) one `error`. Messages and properties are bounded,
 * and so is the number of results per report (failures first; the rest counted in an annotation).
 */
import type { Evaluation } from '../core/evaluate.ts';
import type { PinwardenError } from '../core/errors.ts';

export const REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
export const REPORT_NAME = 'pinwarden-sources';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'pinwarden';
export const LEFT_OUT_ANNOTATION = 'pinwarden.dev/results-left-out';
export const MAX_RESULTS = 1000;
const MAX_MESSAGE = 512;
const MAX_PROPERTY = 512;

export type ResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  timestamp: { seconds: number; nanos: number };
  result: ResultValue;
  scored: boolean;
  resources: ObjectReference[];
  message: string;
  properties?: Record<string, string>;
}

export interface PolicyReport {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'PolicyReport';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  summary: Record<ResultValue, number>;
  results: PolicyReportResult[];
}

/** One audited object: its evaluation as `/validate` would decide it now, or why it could not be judged. */
export type AuditedObject =
  { object: ObjectReference; evaluation: Evaluation } | { object: ObjectReference; error: PinwardenError };

const CATEGORY = 'Flux sources';
const ORDER: Record<ResultValue, number> = { error: 0, fail: 1, warn: 2, skip: 3, pass: 4 };

/** Reports for every namespace that holds an audited object, keyed by namespace, results in a stable order. */
export function buildReports(audited: readonly AuditedObject[], now: Date): Map<string, PolicyReport> {
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  const byNamespace = new Map<string, PolicyReportResult[]>();
  for (const entry of audited) {
    const results = resultsOf(entry, timestamp);
    if (results.length === 0) continue;
    const list = byNamespace.get(entry.object.namespace) ?? [];
    list.push(...results);
    byNamespace.set(entry.object.namespace, list);
  }
  const reports = new Map<string, PolicyReport>();
  for (const [namespace, results] of [...byNamespace].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    results.sort(compareResults);
    const summary: Record<ResultValue, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const result of results) summary[result.result]++;
    const kept = results.slice(0, MAX_RESULTS);
    const leftOut = results.length - kept.length;
    reports.set(namespace, {
      apiVersion: REPORT_API_VERSION,
      kind: 'PolicyReport',
      metadata: {
        name: REPORT_NAME,
        namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        ...(leftOut > 0 ? { annotations: { [LEFT_OUT_ANNOTATION]: String(leftOut) } } : {}),
      },
      summary,
      results: kept,
    });
  }
  return reports;
}

function resultsOf(entry: AuditedObject, timestamp: PolicyReportResult['timestamp']): PolicyReportResult[] {
  const base = { source: 'pinwarden', category: CATEGORY, timestamp, scored: true, resources: [entry.object] };
  if ('error' in entry) {
    return [
      {
        ...base,
        policy: 'pinwarden',
        rule: 'evaluation',
        result: 'error',
        message: cut(`could not be judged: ${entry.error.message} [${entry.error.code}]`, MAX_MESSAGE),
        properties: { code: entry.error.code },
      },
    ];
  }
  const evaluation = entry.evaluation;
  if (!evaluation.governed) return [];
  if (evaluation.exempt) {
    return [
      {
        ...base,
        policy: 'pinwarden',
        rule: 'exempt-namespace',
        result: 'skip',
        message: `namespace ${entry.object.namespace} is exempt (spec.exemptNamespaces)`,
      },
    ];
  }
  const policy = `pinwarden/${evaluation.rule?.name ?? 'default'}`;
  const decidedBy = evaluation.rule?.source ?? 'spec';
  const results: PolicyReportResult[] = evaluation.findings.map((finding) => ({
    ...base,
    policy,
    rule: finding.ruleId,
    result: finding.severity === 'error' ? 'fail' : 'warn',
    severity: finding.severity === 'error' ? 'high' : 'medium',
    message: cut(finding.message, MAX_MESSAGE),
    properties: {
      path: cut(finding.path, MAX_PROPERTY),
      fix: cut(finding.fix, MAX_PROPERTY),
      decidedBy: cut(decidedBy, MAX_PROPERTY),
    },
  }));
  for (const waived of evaluation.waived ?? []) {
    results.push({
      ...base,
      policy,
      rule: waived.ruleId,
      result: 'skip',
      message: cut(
        `waived by SourcePolicyException ${waived.exception} until ${waived.expires} (${waived.reason}): ${waived.message}`,
        MAX_MESSAGE,
      ),
      properties: {
        path: cut(waived.path, MAX_PROPERTY),
        exception: waived.exception,
        expires: waived.expires,
        decidedBy: cut(decidedBy, MAX_PROPERTY),
      },
    });
  }
  if (results.length === 0) {
    results.push({
      ...base,
      policy,
      rule: 'all',
      result: 'pass',
      message: 'no finding: /validate would admit it as it is',
      properties: { decidedBy: cut(decidedBy, MAX_PROPERTY) },
    });
  }
  return results;
}

function compareResults(a: PolicyReportResult, b: PolicyReportResult): number {
  const ra = a.resources[0];
  const rb = b.resources[0];
  return (
    ORDER[a.result] - ORDER[b.result] ||
    compare(ra?.kind, rb?.kind) ||
    compare(ra?.name, rb?.name) ||
    compare(a.rule, b.rule) ||
    compare(a.message, b.message)
  );
}

function compare(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a report says, without its timestamps: the audit rewrites a report only when this changes. */
export function reportFingerprint(report: PolicyReport): string {
  return JSON.stringify({ ...report, results: report.results.map((result) => ({ ...result, timestamp: undefined })) });
}
