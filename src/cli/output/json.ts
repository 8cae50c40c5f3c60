/** `--output json`: the documented, stable shape (fields are only ever added). */
import type { CheckReport } from './report.ts';

type Located = Pick<CheckReport['results'][number], 'object' | 'file' | 'line'>;

/** The fields that say which object, and where it was read, shared by results and skipped entries. */
function located(entry: Located): Record<string, unknown> {
  const { object } = entry;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.namespace ?? null,
    name: object.name,
    file: entry.file,
    line: entry.line,
  };
}

export function formatJson(report: CheckReport): string {
  const results = report.results.map((result) => ({
    ...located(result),
    verdict: result.verdict,
    ...(result.exempt ? { exempt: true } : {}),
    ...(result.rule !== undefined ? { policyRule: result.rule } : {}),
    violations: result.violations.map((violation) => ({
      rule: violation.ruleId,
      severity: violation.severity,
      path: violation.path,
      message: violation.message,
      fix: violation.fix,
      line: violation.line,
    })),
    ...(result.waived
      ? {
          waived: result.waived.map((finding) => ({
            rule: finding.ruleId,
            path: finding.path,
            message: finding.message,
            line: finding.line,
            exception: finding.exception,
            reason: finding.reason,
            expires: finding.expires,
          })),
        }
      : {}),
  }));
  const skipped = report.skipped.map((entry) => ({
    ...located(entry),
    reason: entry.reason,
  }));
  const errors = report.problems.map((problem) => ({
    file: problem.file,
    line: problem.line ?? null,
    message: problem.message,
  }));
  const expired = report.expiredExceptions;
  const optional = {
    ...(report.emptyFiles.length > 0 ? { emptyFiles: report.emptyFiles } : {}),
    ...(report.notes.length > 0 ? { notes: report.notes } : {}),
    ...(errors.length > 0 ? { errors } : {}),
    ...(expired ? { exceptions: { expired } } : {}),
  };
  return `${JSON.stringify({ results, skipped, summary: report.summary, ...optional }, null, 2)}
`;
}
