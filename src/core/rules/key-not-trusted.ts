import { keySetDecision } from '../trust/index.ts';
import { trustFindings } from './rule.ts';
import type { OciRepositoryRule } from './rule.ts';

/**
 * cosign `verify.secretRef`: the Secret sits in the tenant's namespace, so a key in it proves only that the
 * tenant signed. Every `*.pub` key must be one the policy lists in `trustedKeys`. Offline nobody can read the
 * Secret: a warning says so.
 */
export const keyNotTrusted: OciRepositoryRule = {
  id: 'key-not-trusted',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'Every public key in the verify.secretRef Secret must be listed in the policy (trustedKeys).',
  check(view, { policy, verifySecrets }) {
    const verify = view.verify;
    const settings = policy.spec.ociRepository;
    if (!verify || verify.provider !== 'cosign' || verify.secretName === undefined || !settings.allowKeyBased)
      return [];
    return trustFindings(keySetDecision(settings, verify.secretName, verifySecrets?.keys), 'spec.verify.secretRef', {
      unseen: 'nothing to change if the Secret holds only trusted keys; the webhook checks it at admission',
      refused:
        'keep only keys listed in spec.ociRepository.trustedKeys in the Secret (compare sha256 fingerprints: openssl pkey -pubin -in cosign.pub -outform DER | sha256sum), or ask the policy owner to trust the key',
    });
  },
};
