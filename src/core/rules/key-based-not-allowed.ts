import type { OciRepositoryRule } from './rule.ts';

export const keyBasedNotAllowed: OciRepositoryRule = {
  id: 'key-based-not-allowed',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'Cosign public-key verification (verify.secretRef) must be allowed by the policy.',
  check(view, { policy }) {
    const verify = view.verify;
    if (!verify || verify.provider !== 'cosign' || !verify.hasSecretRef || policy.spec.ociRepository.allowKeyBased) {
      return [];
    }
    return [
      {
        path: 'spec.verify.secretRef',
        message: 'cosign public-key verification is not allowed by this policy; only keyless identities are',
        fix: 'remove spec.verify.secretRef and verify keyless with matchOIDCIdentity, or set spec.ociRepository.allowKeyBased: true',
      },
    ];
  },
};
