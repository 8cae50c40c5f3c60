/**
 * The audit: what already runs in the cluster (created before pinwarden, or whose Secrets changed since), judged
 * on an interval by the same flow `/validate` uses, and reported as `wgpolicyk8s.io/v1alpha2` PolicyReports per
 * namespace, plus metrics. It changes and deletes nothing it audits (only its own reports). See README.md.
 */
export {
  buildReports,
  reportFingerprint,
  LEFT_OUT_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_RESULTS,
  REPORT_API_VERSION,
  REPORT_NAME,
} from './report.ts';
export { auditOnce, startAudit } from './audit.ts';
export type {
  AuditLoop,
  AuditLoopOptions,
  AuditMemory,
  AuditMetrics,
  AuditPass,
  AuditPassOptions,
  AuditTarget,
} from './audit.ts';
export type { AuditedObject, ObjectReference, PolicyReport, PolicyReportResult, ResultValue } from './report.ts';
export {
  AUDITED_RESOURCES,
  POLICY_REPORT_RESOURCE,
  auditMetrics,
  kubeAuditTarget,
  startAuditService,
} from './service.ts';
export type { AuditService, AuditServiceOptions } from './service.ts';
