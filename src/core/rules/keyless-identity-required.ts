import { isKeylessCosign, type OciRepositoryRule } from './rule.ts';

export const keylessIdentityRequired: OciRepositoryRule = {
  id: 'keyless-identity-required',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'Keyless cosign verification must name the signer with matchOIDCIdentity.',
  check(view) {
    if (!isKeylessCosign(view) || (view.verify?.identities.length ?? 0) > 0) return [];
    return [
      {
        path: 'spec.verify.matchOIDCIdentity',
        message:
          'keyless cosign verification without matchOIDCIdentity accepts a signature from any Fulcio identity (anyone with an OIDC login)',
        fix: 'add matchOIDCIdentity with an anchored issuer and subject, e.g. issuer ^https://token\\.actions\\.githubusercontent\\.com$',
      },
    ];
  },
};
