/**
 * From core's tolerant Flux view (`VerifyView`, fields typed `unknown` where Flux is loose) to the verify
 * block this module needs, refusing what cannot be evaluated (a non-string identity pattern) by name.
 */
import { PinwardenError } from '../core/errors.ts';
import type { VerifyView } from '../core/flux/index.ts';
import type { OciVerifyBlock, OidcIdentity } from './types.ts';

export function verifyBlockFromView(view: VerifyView): OciVerifyBlock {
  return {
    provider: view.provider,
    ...(view.secretName !== undefined ? { secretRef: { name: view.secretName } } : {}),
    ...(view.trustedRootSecretName !== undefined ? { trustedRootSecretRef: { name: view.trustedRootSecretName } } : {}),
    matchOIDCIdentity: view.identities.map(stringIdentity),
  };
}

function stringIdentity(identity: { issuer: unknown; subject: unknown }, index: number): OidcIdentity {
  const { issuer, subject } = identity;
  if (typeof issuer !== 'string' || typeof subject !== 'string') {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `spec.verify.matchOIDCIdentity[${index}] needs string issuer and subject`,
      {
        details: { field: `spec.verify.matchOIDCIdentity[${index}]` },
      },
    );
  }
  return { issuer, subject };
}
