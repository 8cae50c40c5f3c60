import { trustedRootDecision } from '../trust/index.ts';
import { trustFindings } from './rule.ts';
import type { OciRepositoryRule } from './rule.ts';

/**
 * cosign `verify.trustedRootSecretRef` (Flux 2.9): a trusted_root.json from the tenant's namespace can list a
 * Fulcio and a Rekor of the tenant's own, which then certify any identity the policy allows. The root counts
 * only when its sha256 is one of the policy's `trustedRoots`; offline nobody can read it, and a warning says so.
 */
export const trustedRootNotAllowed: OciRepositoryRule = {
  id: 'trusted-root-not-allowed',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'A custom Sigstore trusted root (verify.trustedRootSecretRef) must be one the policy lists (trustedRoots).',
  check(view, { policy, verifySecrets }) {
    const verify = view.verify;
    if (!verify || verify.provider !== 'cosign' || verify.trustedRootSecretName === undefined) return [];
    return trustFindings(
      trustedRootDecision(policy.spec.ociRepository, verify.trustedRootSecretName, verifySecrets?.trustedRoot),
      'spec.verify.trustedRootSecretRef',
      {
        unseen:
          'nothing to change if the Secret holds a trusted root the policy lists; the webhook checks it at admission',
        refused:
          'remove spec.verify.trustedRootSecretRef to use the Sigstore public-good root, or ask the policy owner to add sha256sum of the trusted_root.json to spec.ociRepository.trustedRoots',
      },
    );
  },
};
