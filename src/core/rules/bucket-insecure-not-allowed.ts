import type { BucketRule } from './rule.ts';

export const bucketInsecureNotAllowed: BucketRule = {
  id: 'bucket-insecure-not-allowed',
  kind: 'Bucket',
  severity: 'error',
  summary: 'A Bucket may use a plain-HTTP endpoint (spec.insecure) only when the policy allows it.',
  check(view, { policy }) {
    if (!view.insecure || policy.spec.bucket.allowInsecure) return [];
    return [
      {
        path: 'spec.insecure',
        message: 'insecure: true fetches bucket objects over plain HTTP',
        fix: 'remove spec.insecure and use an https endpoint, or set spec.bucket.allowInsecure: true',
      },
    ];
  },
};
