import type { OciRepositoryRule } from './rule.ts';

export const verifyProviderNotAllowed: OciRepositoryRule = {
  id: 'verify-provider-not-allowed',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'spec.verify.provider must be one the policy allows.',
  check(view, { policy }) {
    const allowed = policy.spec.ociRepository.allowedVerifyProviders;
    if (!view.verify || (allowed as readonly string[]).includes(view.verify.provider)) return [];
    return [
      {
        path: 'spec.verify.provider',
        message: `verify provider "${view.verify.provider}" is not allowed (allowed: ${allowed.join(', ') || 'none'})`,
        fix: `use provider ${allowed[0] ?? 'cosign'}, or add "${view.verify.provider}" to spec.ociRepository.allowedVerifyProviders`,
      },
    ];
  },
};
