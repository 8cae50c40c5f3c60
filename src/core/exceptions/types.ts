/** A SourcePolicyException document (source-policy-exception.schema.json) and what applying it reports. */
import type { Finding } from '../findings.ts';
import type { LabelSelector } from '../policy/index.ts';

export interface ExceptionObject {
  kind: 'OCIRepository' | 'Bucket';
  name?: string;
  selector?: LabelSelector;
}

export interface SourcePolicyException {
  apiVersion: 'pinwarden.dev/v1alpha1';
  kind: 'SourcePolicyException';
  metadata: { name: string; namespace: string; generation?: number };
  spec: {
    reason: string;
    /** RFC 3339. */
    expires: string;
    objects: ExceptionObject[];
    /** Finding rule ids waived. */
    ruleIds: string[];
    /** Only while one of these SourcePolicy rules decides the object. */
    policyRules?: string[];
  };
}

/** The exceptions in force and the clock they are judged by (injected: the core reads no clock). */
export interface ExceptionSet {
  exceptions: readonly SourcePolicyException[];
  now: Date;
}

/** A finding an exception waived: it no longer counts for the verdict, and is reported as such. */
export interface WaivedFinding extends Finding {
  /** `namespace/name` of the exception. */
  exception: string;
  reason: string;
  expires: string;
}

export interface ExpiredException {
  /** `namespace/name`. */
  exception: string;
  expires: string;
  reason: string;
}
