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
        message:
          policy.spec.ociRepository.trustedKeys.length === 0
            ? "cosign public-key verification is not allowed by this policy: it trusts no public key (spec.ociRepository.trustedKeys), and a key from the object's own Secret proves nothing"
            : 'cosign public-key verification is not allowed by this policy (allowKeyBased: false); only keyless identities are',
        fix: 'verify keyless with matchOIDCIdentity, or have the policy list the signing keys in spec.ociRepository.trustedKeys (README: policy reference)',
      },
    ];
  },
};
