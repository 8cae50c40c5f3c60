/** `--output json`: the documented, stable shape (fields are only ever added). */
import type { CheckReport } from './report.ts';

export function formatJson(report: CheckReport): string {
  const results = report.results.map((result) => ({
    apiVersion: result.object.apiVersion,
    kind: result.object.kind,
    namespace: result.object.namespace ?? null,
    name: result.object.name,
    file: result.file,
    line: result.line,
    verdict: result.verdict,
    ...(result.exempt ? { exempt: true } : {}),
    violations: result.violations.map((violation) => ({
      rule: violation.ruleId,
      severity: violation.severity,
      path: violation.path,
      message: violation.message,
      fix: violation.fix,
      line: violation.line,
    })),
  }));
  const skipped = report.skipped.map((entry) => ({
    apiVersion: entry.object.apiVersion,
    kind: entry.object.kind,
    namespace: entry.object.namespace ?? null,
    name: entry.object.name,
    file: entry.file,
    line: entry.line,
    reason: entry.reason,
  }));
  const errors = report.problems.map((problem) => ({ file: problem.file, line: problem.line ?? null, message: problem.message }));
  const optional = {
    ...(report.emptyFiles.length > 0 ? { emptyFiles: report.emptyFiles } : {}),
    ...(report.notes.length > 0 ? { notes: report.notes } : {}),
    ...(errors.length > 0 ? { errors } : {}),
  };
  return `${JSON.stringify({ results, skipped, summary: report.summary, ...optional }, null, 2)}\n`;
}
