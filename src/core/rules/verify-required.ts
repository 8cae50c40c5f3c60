import type { OciRepositoryRule } from './rule.ts';

export const verifyRequired: OciRepositoryRule = {
  id: 'verify-required',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'An OCIRepository must verify signatures (spec.verify); without it Flux pulls unverified content.',
  check(view, { policy }) {
    if (!policy.spec.ociRepository.requireVerify || view.verify !== undefined) return [];
    return [
      {
        path: 'spec.verify',
        message: 'spec.verify is missing: source-controller would apply content whose signature nobody checked',
        fix: 'add spec.verify with provider: cosign and matchOIDCIdentity (keyless) or secretRef (public key)',
      },
    ];
  },
};
