import type { OciRepositoryRule } from './rule.ts';

export const insecureNotAllowed: OciRepositoryRule = {
  id: 'insecure-not-allowed',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'spec.insecure (plain HTTP, and no TLS verification without certSecretRef) must be allowed by the policy.',
  check(view, { policy }) {
    if (!view.insecure || policy.spec.ociRepository.allowInsecure) return [];
    return [
      {
        path: 'spec.insecure',
        message: 'insecure: true lets source-controller use plain HTTP and skip TLS verification for this registry',
        fix: 'remove spec.insecure and serve the registry over TLS (spec.certSecretRef for a private CA)',
      },
    ];
  },
};
