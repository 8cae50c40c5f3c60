/** What a rule reports about one object. Violations are data, never exceptions. */

export type Severity = 'error' | 'warning';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface SourceLocation {
  file: string;
  line: number;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  /** JSON Pointer into the object, e.g. /spec/verify/matchOIDCIdentity/0/subject. */
  path: string;
  message: string;
  fix: string;
}

export type Verdict = 'allow' | 'deny' | 'warn';
